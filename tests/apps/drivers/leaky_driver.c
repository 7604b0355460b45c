/* A driver that leaves things behind on purpose, for the host's leak report (host_leaks.sh):
 * a pool block under its tag, a thread handle it never closes (the thread has ended), a
 * registry key it never closes, a datagram socket it never closes, an IRP it never frees, a
 * security descriptor it cached and never released (WSK_CACHE_SD without WSK_RELEASE_SD) and
 * a WSK client it never deregisters. A second client keeps the datagram the peer sends to
 * port 7010 (its receive event answers STATUS_PENDING) and never releases it: its unload
 * closes that socket and deregisters, so the provider frees the datagram and counts it.
 * Written as Windows driver code, like examples/drivers, but for the descriptor: dpwsk's are
 * its own kind (wsk_options.h). */
#include <ntddk.h>
#include <wsk.h>

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD LeakyUnload;
static KSTART_ROUTINE Nothing;
static IO_COMPLETION_ROUTINE SignalIrp;

static WSK_REGISTRATION Registration;
static WSK_PROVIDER_NPI Provider;
static const WSK_CLIENT_DISPATCH ClientDispatch = { MAKE_WSK_VERSION(1, 0), 0, NULL };
static PVOID Block;

static WSK_REGISTRATION KeeperRegistration;
static WSK_PROVIDER_NPI Keeper;
static PWSK_SOCKET KeeperSocket;
static BOOLEAN KeeperRegistered;
static KEVENT Kept;
static NTSTATUS WSKAPI KeepDatagram(PVOID SocketContext, ULONG Flags,
				    PWSK_DATAGRAM_INDICATION DataIndication);
static const WSK_CLIENT_DATAGRAM_DISPATCH KeeperEvents = { KeepDatagram };

_Use_decl_annotations_
static VOID Nothing(PVOID Context)
{
	UNREFERENCED_PARAMETER(Context);
}

_Use_decl_annotations_
static NTSTATUS SignalIrp(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	UNREFERENCED_PARAMETER(Irp);
	KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Keeps every datagram: the provider lends it until WskRelease, which never comes. */
static NTSTATUS WSKAPI KeepDatagram(PVOID SocketContext, ULONG Flags,
				    PWSK_DATAGRAM_INDICATION DataIndication)
{
	UNREFERENCED_PARAMETER(SocketContext);
	UNREFERENCED_PARAMETER(Flags);
	if (DataIndication == NULL)
		return STATUS_SUCCESS;
	DbgPrint("kept a datagram\n");
	KeSetEvent(&Kept, IO_NO_INCREMENT, FALSE);
	return STATUS_PENDING;
}

/* An IRP-synchronous call: issue it with the IRP, wait for its routine. */
static NTSTATUS Wait(PIRP Irp, PKEVENT Done, NTSTATUS Issued)
{
	if (Issued == STATUS_PENDING)
		KeWaitForSingleObject(Done, Executive, KernelMode, FALSE, NULL);
	return Irp->IoStatus.Status;
}

/* The second client: a datagram socket on port 7010 whose receive event keeps what comes. */
static NTSTATUS StartKeeper(VOID)
{
	WSK_CLIENT_NPI client = { NULL, &ClientDispatch };
	WSK_EVENT_CALLBACK_CONTROL events = { (PNPIID)&NPI_WSK_INTERFACE_ID,
					      WSK_EVENT_RECEIVE_FROM };
	SOCKADDR_IN any = { 0 };
	const WSK_PROVIDER_DATAGRAM_DISPATCH *d = NULL;
	KEVENT done;
	PIRP irp;
	NTSTATUS status;

	KeInitializeEvent(&Kept, NotificationEvent, FALSE);
	status = WskRegister(&client, &KeeperRegistration);
	KeeperRegistered = NT_SUCCESS(status);
	if (NT_SUCCESS(status))
		status = WskCaptureProviderNPI(&KeeperRegistration, WSK_INFINITE_WAIT, &Keeper);
	if (!NT_SUCCESS(status))
		return status;
	irp = IoAllocateIrp(1, FALSE);
	if (irp == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	KeInitializeEvent(&done, NotificationEvent, FALSE);
	IoSetCompletionRoutine(irp, SignalIrp, &done, TRUE, TRUE, TRUE);
	status = Wait(irp, &done, Keeper.Dispatch->WskSocket(Keeper.Client, AF_INET, SOCK_DGRAM,
						       IPPROTO_UDP, WSK_FLAG_DATAGRAM_SOCKET,
						       NULL, &KeeperEvents, NULL, NULL, NULL,
						       irp));
	if (NT_SUCCESS(status)) {
		KeeperSocket = (PWSK_SOCKET)irp->IoStatus.Information;
		d = KeeperSocket->Dispatch;
		/* no IRP: Windows' way of enabling event callbacks */
		status = d->Basic.WskControlSocket(KeeperSocket, WskSetOption,
						   SO_WSK_EVENT_CALLBACK, SOL_SOCKET,
						   sizeof(events), &events, 0, NULL, NULL, NULL);
	}
	if (NT_SUCCESS(status)) {
		any.sin_family = AF_INET;
		any.sin_port = RtlUshortByteSwap(7010);
		KeResetEvent(&done);
		IoReuseIrp(irp, STATUS_UNSUCCESSFUL);
		IoSetCompletionRoutine(irp, SignalIrp, &done, TRUE, TRUE, TRUE);
		status = Wait(irp, &done, d->WskBind(KeeperSocket, (PSOCKADDR)&any, 0, irp));
	}
	IoFreeIrp(irp);
	return status;
}

/* The keeper's socket closed and its client deregistered, the datagram still not released. */
static VOID StopKeeper(VOID)
{
	const WSK_PROVIDER_BASIC_DISPATCH *d;
	KEVENT done;
	PIRP irp = IoAllocateIrp(1, FALSE);

	if (KeeperSocket != NULL && irp != NULL) {
		d = KeeperSocket->Dispatch;
		KeInitializeEvent(&done, NotificationEvent, FALSE);
		IoSetCompletionRoutine(irp, SignalIrp, &done, TRUE, TRUE, TRUE);
		Wait(irp, &done, d->WskCloseSocket(KeeperSocket, irp));
	}
	if (irp != NULL)
		IoFreeIrp(irp);
	if (KeeperRegistered) {
		WskReleaseProviderNPI(&KeeperRegistration);
		WskDeregister(&KeeperRegistration);
	}
}

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	WSK_CLIENT_NPI client = { NULL, &ClientDispatch };
	OBJECT_ATTRIBUTES attributes;
	HANDLE thread, key;
	KEVENT done;
	PIRP irp;
	NTSTATUS status;

	Block = ExAllocatePool2(POOL_FLAG_NON_PAGED, 100, 'kaeL');
	PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, Nothing, NULL);
	InitializeObjectAttributes(&attributes, RegistryPath, OBJ_KERNEL_HANDLE, NULL, NULL);
	ZwOpenKey(&key, KEY_READ, &attributes);
	status = WskRegister(&client, &Registration);
	if (NT_SUCCESS(status))
		status = WskCaptureProviderNPI(&Registration, WSK_INFINITE_WAIT, &Provider);
	if (!NT_SUCCESS(status))
		return status;
	{
		static DPW_SECURITY_DESCRIPTOR anyone = { DPW_SECURITY_DESCRIPTOR_REVISION,
							  DPW_SD_SHARE_ANY_CLIENT, 0, NULL };
		PSECURITY_DESCRIPTOR in = &anyone, cached = NULL;

		status = Provider.Dispatch->WskControlClient(Provider.Client, WSK_CACHE_SD,
							     sizeof(in), &in, sizeof(cached),
							     &cached, NULL, NULL);
		DbgPrint("cached a security descriptor: 0x%08x\n", (unsigned)status);
	}
	KeInitializeEvent(&done, NotificationEvent, FALSE);
	irp = IoAllocateIrp(1, FALSE);
	IoSetCompletionRoutine(irp, SignalIrp, &done, TRUE, TRUE, TRUE);
	status = Provider.Dispatch->WskSocket(Provider.Client, AF_INET, SOCK_DGRAM, IPPROTO_UDP,
					      WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, NULL, NULL,
					      NULL, irp);
	KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
	DbgPrint("socket: 0x%08x\n", (unsigned)irp->IoStatus.Status);
	DbgPrint("keeper on port 7010: 0x%08x\n", (unsigned)StartKeeper());
	DriverObject->DriverUnload = LeakyUnload;
	return STATUS_SUCCESS;
}

_Use_decl_annotations_
static VOID LeakyUnload(PDRIVER_OBJECT DriverObject)
{
	UNREFERENCED_PARAMETER(DriverObject);
	StopKeeper();
	WskReleaseProviderNPI(&Registration);   /* and nothing else of the first client */
}
