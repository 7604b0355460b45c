/* Client registration with the WSK provider (WSK-R1): WskRegister, capture and release of the
 * provider NPI, WskDeregister. Windows' signatures. */
#ifndef DPWSK_WSK_REGISTRATION_H
#define DPWSK_WSK_REGISTRATION_H

#include "wsk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

NTSTATUS WskRegister(PWSK_CLIENT_NPI WskClientNpi, PWSK_REGISTRATION WskRegistration);

/* WaitTimeout in milliseconds, or WSK_NO_WAIT / WSK_INFINITE_WAIT. STATUS_DEVICE_NOT_READY
 * after WskDeregister; STATUS_NOINTERFACE for an unsupported client version. */
NTSTATUS WskCaptureProviderNPI(PWSK_REGISTRATION WskRegistration, ULONG WaitTimeout,
			       PWSK_PROVIDER_NPI WskProviderNpi);

VOID WskReleaseProviderNPI(PWSK_REGISTRATION WskRegistration);

NTSTATUS WskQueryProviderCharacteristics(PWSK_REGISTRATION WskRegistration,
					 PWSK_PROVIDER_CHARACTERISTICS WskProviderCharacteristics);

/* Waits until every captured NPI is released and every socket of the client is closed. */
VOID WskDeregister(PWSK_REGISTRATION WskRegistration);

#ifdef __cplusplus
}
#endif

#endif /* DPWSK_WSK_REGISTRATION_H */
