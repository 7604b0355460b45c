/* dpwsk's public API in one include: Winsock Kernel over a userspace TCP/IP stack. It may
 * come before or after system headers; AF_INET6 is Windows' 23 below it (see sockaddr.h). */
#ifndef DPWSK_WSK_H
#define DPWSK_WSK_H

#include "wsk_base.h"
#include "ntstatus.h"
#include "sockaddr.h"
#include "mdl.h"
#include "irp.h"
#include "wsk_types.h"
#include "wsk_registration.h"
#include "wsk_options.h"

#endif /* DPWSK_WSK_H */
