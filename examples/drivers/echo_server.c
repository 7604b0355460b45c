/* A TCP echo server written as a Windows WSK client driver: nothing in it is dpwsk's. It
 * builds for Windows with the WDK as it is, and here as a shared object that dpwsk-host loads
 * (examples/drivers/meson.build).
 *
 * DriverEntry registers with WSK and starts a system thread. The thread opens a listening
 * socket on port ECHO_PORT and accepts connections one by one, each handed to a thread of its
 * own that receives and sends back until the peer ends (then a graceful disconnect). Every
 * call is made synchronous the usual way: an IRP whose completion routine sets a KEVENT, and
 * a wait on it only if the call returned STATUS_PENDING. DriverUnload closes the listening
 * socket and the connections (their pending IRPs are cancelled), waits for every thread,
 * frees everything and deregisters. */
#include <ntddk.h>
#include <wsk.h>

#define ECHO_PORT 7007
#define ECHO_TAG 'ohcE'
#define ECHO_BUFFER 16384

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD EchoUnload;
static KSTART_ROUTINE ListenThread;
static KSTART_ROUTINE ConnectionThread;
static IO_COMPLETION_ROUTINE SignalIrp;

typedef struct _ECHO_CONNECTION {
	LIST_ENTRY Link;
	PWSK_SOCKET Socket;
	PETHREAD Thread;                 /* set before Started is signalled */
	PIRP Irp;                        /* the connection's one IRP, until the thread ends */
	KEVENT Done, Started;
	PMDL Mdl;
	UCHAR Buffer[ECHO_BUFFER];
} ECHO_CONNECTION, *PECHO_CONNECTION;

static WSK_REGISTRATION Registration;
static WSK_PROVIDER_NPI Provider;
static const WSK_CLIENT_DISPATCH ClientDispatch = { MAKE_WSK_VERSION(1, 0), 0, NULL };

static PETHREAD ListenThreadObject;
static PWSK_SOCKET ListenSocket;
static volatile LONG Stopping;
static KSPIN_LOCK ConnectionsLock;
static LIST_ENTRY Connections;   /* [ConnectionsLock] */

/* ---- synchronous calls ------------------------------------------------------------------- */

_Use_decl_annotations_
static NTSTATUS SignalIrp(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	/* Only a caller that got STATUS_PENDING waits. */
	if (Irp->PendingReturned)
		KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static VOID PrepareIrp(PIRP Irp, PKEVENT Event)
{
	IoReuseIrp(Irp, STATUS_UNSUCCESSFUL);
	KeClearEvent(Event);
	IoSetCompletionRoutine(Irp, SignalIrp, Event, TRUE, TRUE, TRUE);
}

static NTSTATUS WaitIrp(PIRP Irp, PKEVENT Event, NTSTATUS Status)
{
	if (Status == STATUS_PENDING) {
		KeWaitForSingleObject(Event, Executive, KernelMode, FALSE, NULL);
		Status = Irp->IoStatus.Status;
	}
	return Status;
}

static NTSTATUS CloseSocket(PWSK_SOCKET Socket, PIRP Irp, PKEVENT Event)
{
	const WSK_PROVIDER_BASIC_DISPATCH *d = Socket->Dispatch;

	PrepareIrp(Irp, Event);
	return WaitIrp(Irp, Event, d->WskCloseSocket(Socket, Irp));
}

/* Close a socket with an IRP of its own (its pending IRPs complete with STATUS_CANCELLED). */
static VOID CloseWithNewIrp(PWSK_SOCKET Socket)
{
	KEVENT done;
	PIRP irp = IoAllocateIrp(1, FALSE);

	if (irp == NULL)
		return;
	KeInitializeEvent(&done, SynchronizationEvent, FALSE);
	CloseSocket(Socket, irp, &done);
	IoFreeIrp(irp);
}

/* ---- a connection ----------------------------------------------------------------------- */

_Use_decl_annotations_
static VOID ConnectionThread(PVOID Context)
{
	PECHO_CONNECTION c = Context;
	const WSK_PROVIDER_CONNECTION_DISPATCH *d = c->Socket->Dispatch;
	WSK_BUF buf;
	NTSTATUS status;
	ULONG_PTR got;
	KIRQL irql;

	KeWaitForSingleObject(&c->Started, Executive, KernelMode, FALSE, NULL);
	buf.Mdl = c->Mdl;
	buf.Offset = 0;
	for (;;) {
		buf.Length = ECHO_BUFFER;
		PrepareIrp(c->Irp, &c->Done);
		/* The unload sets Stopping, then cancels our IRP: seen here, or the call finds
		 * the IRP cancelled (only IoReuseIrp clears that), or the cancel reaches it. */
		if (InterlockedCompareExchange(&Stopping, 0, 0) != 0) {
			status = STATUS_CANCELLED;
			break;
		}
		status = WaitIrp(c->Irp, &c->Done, d->WskReceive(c->Socket, &buf, 0, c->Irp));
		got = c->Irp->IoStatus.Information;
		if (!NT_SUCCESS(status) || got == 0)
			break;   /* the peer ended (0 bytes), reset, or the unload cancelled us */
		buf.Length = got;
		PrepareIrp(c->Irp, &c->Done);
		if (InterlockedCompareExchange(&Stopping, 0, 0) != 0) {
			status = STATUS_CANCELLED;
			break;
		}
		status = WaitIrp(c->Irp, &c->Done, d->WskSend(c->Socket, &buf, 0, c->Irp));
		if (!NT_SUCCESS(status))
			break;
	}
	if (NT_SUCCESS(status) && InterlockedCompareExchange(&Stopping, 0, 0) == 0) {
		/* The peer sent its FIN: ours after everything echoed. */
		PrepareIrp(c->Irp, &c->Done);
		WaitIrp(c->Irp, &c->Done, d->WskDisconnect(c->Socket, NULL, 0, c->Irp));
	}
	KeAcquireSpinLock(&ConnectionsLock, &irql);
	RemoveEntryList(&c->Link);
	KeReleaseSpinLock(&ConnectionsLock, irql);
	CloseSocket(c->Socket, c->Irp, &c->Done);
	IoFreeMdl(c->Mdl);
	IoFreeIrp(c->Irp);
	/* Whoever waits for this thread holds a reference to its object; ours goes now. */
	ObDereferenceObject(c->Thread);
	ExFreePoolWithTag(c, ECHO_TAG);
	PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS StartConnection(PWSK_SOCKET Socket)
{
	PECHO_CONNECTION c;
	HANDLE thread;
	NTSTATUS status;
	KIRQL irql;

	c = ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(*c), ECHO_TAG);
	if (c == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	c->Socket = Socket;
	KeInitializeEvent(&c->Done, SynchronizationEvent, FALSE);
	KeInitializeEvent(&c->Started, NotificationEvent, FALSE);
	c->Irp = IoAllocateIrp(1, FALSE);
	c->Mdl = IoAllocateMdl(c->Buffer, ECHO_BUFFER, FALSE, FALSE, NULL);
	if (c->Irp == NULL || c->Mdl == NULL) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}
	MmBuildMdlForNonPagedPool(c->Mdl);
	KeAcquireSpinLock(&ConnectionsLock, &irql);
	InsertTailList(&Connections, &c->Link);
	KeReleaseSpinLock(&ConnectionsLock, irql);
	status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL,
				      ConnectionThread, c);
	if (!NT_SUCCESS(status)) {
		KeAcquireSpinLock(&ConnectionsLock, &irql);
		RemoveEntryList(&c->Link);
		KeReleaseSpinLock(&ConnectionsLock, irql);
		goto fail;
	}
	ObReferenceObjectByHandle(thread, THREAD_ALL_ACCESS, *PsThreadType, KernelMode,
				  (PVOID *)&c->Thread, NULL);
	ZwClose(thread);
	KeSetEvent(&c->Started, IO_NO_INCREMENT, FALSE);
	return STATUS_SUCCESS;

fail:
	CloseWithNewIrp(Socket);
	if (c->Mdl != NULL)
		IoFreeMdl(c->Mdl);
	if (c->Irp != NULL)
		IoFreeIrp(c->Irp);
	ExFreePoolWithTag(c, ECHO_TAG);
	return status;
}

/* ---- the listening thread ---------------------------------------------------------------- */

_Use_decl_annotations_
static VOID ListenThread(PVOID Context)
{
	const WSK_PROVIDER_LISTEN_DISPATCH *d;
	SOCKADDR_IN local = { 0 };
	KEVENT done;
	PIRP irp;
	NTSTATUS status;

	UNREFERENCED_PARAMETER(Context);
	KeInitializeEvent(&done, SynchronizationEvent, FALSE);
	irp = IoAllocateIrp(1, FALSE);
	if (irp == NULL)
		PsTerminateSystemThread(STATUS_INSUFFICIENT_RESOURCES);

	PrepareIrp(irp, &done);
	status = WaitIrp(irp, &done,
			 Provider.Dispatch->WskSocket(Provider.Client, AF_INET, SOCK_STREAM,
						      IPPROTO_TCP, WSK_FLAG_LISTEN_SOCKET, NULL,
						      NULL, NULL, NULL, NULL, irp));
	if (!NT_SUCCESS(status)) {
		DbgPrint("WskSocket failed: 0x%08x\n", (unsigned)status);
		goto out;
	}
	ListenSocket = (PWSK_SOCKET)irp->IoStatus.Information;
	d = ListenSocket->Dispatch;
	local.sin_family = AF_INET;
	local.sin_port = RtlUshortByteSwap(ECHO_PORT);
	PrepareIrp(irp, &done);
	status = WaitIrp(irp, &done, d->WskBind(ListenSocket, (PSOCKADDR)&local, 0, irp));
	if (!NT_SUCCESS(status)) {
		DbgPrint("WskBind to port %d failed: 0x%08x\n", ECHO_PORT, (unsigned)status);
		goto out;
	}
	DbgPrint("listening on TCP port %d\n", ECHO_PORT);

	while (InterlockedCompareExchange(&Stopping, 0, 0) == 0) {
		PrepareIrp(irp, &done);
		status = WaitIrp(irp, &done, d->WskAccept(ListenSocket, 0, NULL, NULL, NULL, NULL,
							   irp));
		if (!NT_SUCCESS(status))
			break;   /* STATUS_CANCELLED: the unload closed the socket */
		status = StartConnection((PWSK_SOCKET)irp->IoStatus.Information);
		if (!NT_SUCCESS(status))
			DbgPrint("no memory for a connection: closed it\n");
	}
out:
	IoFreeIrp(irp);
	PsTerminateSystemThread(STATUS_SUCCESS);
}

/* ---- load and unload ----------------------------------------------------------------------- */

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	WSK_CLIENT_NPI client = { NULL, &ClientDispatch };
	HANDLE thread;
	NTSTATUS status;

	UNREFERENCED_PARAMETER(RegistryPath);
	KeInitializeSpinLock(&ConnectionsLock);
	InitializeListHead(&Connections);
	status = WskRegister(&client, &Registration);
	if (!NT_SUCCESS(status))
		return status;
	status = WskCaptureProviderNPI(&Registration, WSK_INFINITE_WAIT, &Provider);
	if (!NT_SUCCESS(status)) {
		WskDeregister(&Registration);
		return status;
	}
	status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, ListenThread,
				      NULL);
	if (!NT_SUCCESS(status)) {
		WskReleaseProviderNPI(&Registration);
		WskDeregister(&Registration);
		return status;
	}
	ObReferenceObjectByHandle(thread, THREAD_ALL_ACCESS, *PsThreadType, KernelMode,
				  (PVOID *)&ListenThreadObject, NULL);
	ZwClose(thread);
	DriverObject->DriverUnload = EchoUnload;
	return STATUS_SUCCESS;
}

_Use_decl_annotations_
static VOID EchoUnload(PDRIVER_OBJECT DriverObject)
{
	UNREFERENCED_PARAMETER(DriverObject);
	InterlockedExchange(&Stopping, 1);
	if (ListenSocket != NULL)
		CloseWithNewIrp(ListenSocket);   /* the accept is cancelled; the thread ends */
	KeWaitForSingleObject(ListenThreadObject, Executive, KernelMode, FALSE, NULL);
	ObDereferenceObject(ListenThreadObject);

	/* Connections still open: cancel each one's IRP (its thread then closes the socket,
	 * resetting the connection, and ends), and wait for its thread. A thread takes itself
	 * off the list, under the lock, before it frees anything: what is on it is alive. */
	for (;;) {
		PECHO_CONNECTION c;
		PETHREAD t = NULL;
		KIRQL irql;

		KeAcquireSpinLock(&ConnectionsLock, &irql);
		if (!IsListEmpty(&Connections)) {
			c = CONTAINING_RECORD(Connections.Flink, ECHO_CONNECTION, Link);
			t = c->Thread;
			ObReferenceObject(t);
			IoCancelIrp(c->Irp);
		}
		KeReleaseSpinLock(&ConnectionsLock, irql);
		if (t == NULL)
			break;
		KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL);
		ObDereferenceObject(t);
	}
	WskReleaseProviderNPI(&Registration);
	WskDeregister(&Registration);
	DbgPrint("unloaded\n");
}
