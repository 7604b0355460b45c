/* A UDP client written as a Windows WSK client driver: nothing in it is dpwsk's.
 *
 * Its configuration is in its registry key, as drivers keep it (dpwsk-host --param sets it):
 * Server (REG_SZ: a name or an address, resolved with WskGetAddressInfo), Port (REG_DWORD)
 * and Count (REG_DWORD, 5 if absent). A system thread sends Count datagrams to Server:Port,
 * each followed by a WskReceiveFrom that waits up to two seconds for the echo (on timeout the
 * IRP is cancelled with IoCancelIrp and waited for), and says what it got with DbgPrint.
 * DriverUnload stops the thread (cancelling a receive still waiting) and frees everything. */
#include <ntddk.h>
#include <ntstrsafe.h>
#include <wsk.h>

#define UDP_TAG 'cpdU'
#define REPLY_TIMEOUT_MS 2000

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD UdpUnload;
static KSTART_ROUTINE ClientThread;
static IO_COMPLETION_ROUTINE SignalIrp;

static WSK_REGISTRATION Registration;
static WSK_PROVIDER_NPI Provider;
static const WSK_CLIENT_DISPATCH ClientDispatch = { MAKE_WSK_VERSION(1, 0), 0, NULL };

static PETHREAD Thread;
static volatile LONG Stopping;
static KSPIN_LOCK IrpLock;
static PIRP CurrentIrp;          /* [IrpLock] the thread's IRP while a call may wait */

static WCHAR ServerName[128];
static ULONG ServerPort, Count = 5;

_Use_decl_annotations_
static NTSTATUS SignalIrp(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	UNREFERENCED_PARAMETER(DeviceObject);
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

/* Wait for a call that returned STATUS_PENDING, up to TimeoutMs (0: no limit); a call not
 * done by then is cancelled and waited for. */
static NTSTATUS WaitIrp(PIRP Irp, PKEVENT Event, NTSTATUS Status, ULONG TimeoutMs)
{
	LARGE_INTEGER timeout;

	if (Status != STATUS_PENDING)
		return Status;
	timeout.QuadPart = -(LONGLONG)TimeoutMs * 10000;
	if (KeWaitForSingleObject(Event, Executive, KernelMode, FALSE,
				  TimeoutMs != 0 ? &timeout : NULL) == STATUS_TIMEOUT) {
		IoCancelIrp(Irp);
		KeWaitForSingleObject(Event, Executive, KernelMode, FALSE, NULL);
	}
	return Irp->IoStatus.Status;
}

/* Parameters\Server, Port and Count. */
static NTSTATUS ReadParameters(PUNICODE_STRING RegistryPath)
{
	static WCHAR path[256];
	UNICODE_STRING key = { 0, sizeof(path), path }, name;
	OBJECT_ATTRIBUTES attributes;
	UCHAR buffer[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + sizeof(ServerName)];
	PKEY_VALUE_PARTIAL_INFORMATION value = (PKEY_VALUE_PARTIAL_INFORMATION)buffer;
	static const WCHAR suffix[] = L"\\Parameters";
	HANDLE h;
	ULONG got;
	NTSTATUS status;

	if (RegistryPath->Length + sizeof(suffix) > sizeof(path))
		return STATUS_BUFFER_TOO_SMALL;
	RtlCopyMemory(path, RegistryPath->Buffer, RegistryPath->Length);
	RtlCopyMemory((PUCHAR)path + RegistryPath->Length, suffix, sizeof(suffix));
	key.Length = (USHORT)(RegistryPath->Length + sizeof(suffix) - sizeof(WCHAR));
	InitializeObjectAttributes(&attributes, &key, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE,
				   NULL, NULL);
	status = ZwOpenKey(&h, KEY_READ, &attributes);
	if (!NT_SUCCESS(status))
		return status;

	RtlInitUnicodeString(&name, L"Server");
	status = ZwQueryValueKey(h, &name, KeyValuePartialInformation, value, sizeof(buffer),
				 &got);
	if (NT_SUCCESS(status) && value->Type == REG_SZ && value->DataLength <= sizeof(ServerName))
		RtlCopyMemory(ServerName, value->Data, value->DataLength);
	else
		status = STATUS_OBJECT_NAME_NOT_FOUND;
	if (NT_SUCCESS(status)) {
		RtlInitUnicodeString(&name, L"Port");
		status = ZwQueryValueKey(h, &name, KeyValuePartialInformation, value,
					 sizeof(buffer), &got);
		if (NT_SUCCESS(status) && value->Type == REG_DWORD)
			RtlCopyMemory(&ServerPort, value->Data, sizeof(ULONG));
		else
			status = STATUS_OBJECT_NAME_NOT_FOUND;
	}
	if (NT_SUCCESS(status)) {
		RtlInitUnicodeString(&name, L"Count");
		if (NT_SUCCESS(ZwQueryValueKey(h, &name, KeyValuePartialInformation, value,
					       sizeof(buffer), &got)) &&
		    value->Type == REG_DWORD)
			RtlCopyMemory(&Count, value->Data, sizeof(ULONG));
	}
	ZwClose(h);
	return status;
}

static NTSTATUS Resolve(PIRP Irp, PKEVENT Event, SOCKADDR_INET *Server)
{
	UNICODE_STRING node;
	ADDRINFOEXW hints = { 0 };
	PADDRINFOEXW result = NULL;
	NTSTATUS status;

	RtlInitUnicodeString(&node, ServerName);
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_protocol = IPPROTO_UDP;
	PrepareIrp(Irp, Event);
	status = WaitIrp(Irp, Event,
			 Provider.Dispatch->WskGetAddressInfo(Provider.Client, &node, NULL, NS_ALL,
							      NULL, &hints, &result, NULL, NULL,
							      Irp),
			 0);
	if (!NT_SUCCESS(status))
		return status;
	RtlZeroMemory(Server, sizeof(*Server));
	RtlCopyMemory(&Server->Ipv4, result->ai_addr, sizeof(SOCKADDR_IN));
	Server->Ipv4.sin_port = RtlUshortByteSwap((USHORT)ServerPort);
	Provider.Dispatch->WskFreeAddressInfo(Provider.Client, result);
	return STATUS_SUCCESS;
}

/* The thread's IRP, cancellable by the unload while it is set. */
static VOID SetCurrentIrp(PIRP Irp)
{
	KIRQL irql;

	KeAcquireSpinLock(&IrpLock, &irql);
	CurrentIrp = Irp;
	KeReleaseSpinLock(&IrpLock, irql);
}

_Use_decl_annotations_
static VOID ClientThread(PVOID Context)
{
	const WSK_PROVIDER_DATAGRAM_DISPATCH *d;
	SOCKADDR_INET server, from;
	SOCKADDR_IN local = { 0 };
	PWSK_SOCKET socket = NULL;
	KEVENT done;
	PIRP irp;
	PMDL mdl = NULL;
	PUCHAR data;
	WSK_BUF buf;
	ULONG sent = 0, echoed = 0, i;
	NTSTATUS status;

	UNREFERENCED_PARAMETER(Context);
	KeInitializeEvent(&done, SynchronizationEvent, FALSE);
	irp = IoAllocateIrp(1, FALSE);
	data = ExAllocatePool2(POOL_FLAG_NON_PAGED, 2048, UDP_TAG);
	if (irp == NULL || data == NULL)
		goto out;
	mdl = IoAllocateMdl(data, 2048, FALSE, FALSE, NULL);
	if (mdl == NULL)
		goto out;
	MmBuildMdlForNonPagedPool(mdl);

	status = Resolve(irp, &done, &server);
	if (!NT_SUCCESS(status)) {
		DbgPrint("cannot resolve the server: 0x%08x\n", (unsigned)status);
		goto out;
	}
	PrepareIrp(irp, &done);
	status = WaitIrp(irp, &done,
			 Provider.Dispatch->WskSocket(Provider.Client, AF_INET, SOCK_DGRAM,
						      IPPROTO_UDP, WSK_FLAG_DATAGRAM_SOCKET, NULL,
						      NULL, NULL, NULL, NULL, irp),
			 0);
	if (!NT_SUCCESS(status))
		goto out;
	socket = (PWSK_SOCKET)irp->IoStatus.Information;
	d = socket->Dispatch;
	local.sin_family = AF_INET;
	PrepareIrp(irp, &done);
	status = WaitIrp(irp, &done, d->WskBind(socket, (PSOCKADDR)&local, 0, irp), 0);
	if (!NT_SUCCESS(status))
		goto out;

	SetCurrentIrp(irp);
	for (i = 0; i < Count && InterlockedCompareExchange(&Stopping, 0, 0) == 0; i++) {
		size_t n = 0;

		RtlStringCbPrintfA((char *)data, 2048, "datagram %lu of %lu", (unsigned long)i + 1,
				   (unsigned long)Count);
		RtlStringCbLengthA((char *)data, 2048, &n);
		buf.Mdl = mdl;
		buf.Offset = 0;
		buf.Length = n;
		PrepareIrp(irp, &done);
		status = WaitIrp(irp, &done, d->WskSendTo(socket, &buf, 0, (PSOCKADDR)&server, 0,
							   NULL, irp), 0);
		if (!NT_SUCCESS(status)) {
			DbgPrint("send %lu failed: 0x%08x\n", (unsigned long)i + 1, (unsigned)status);
			continue;
		}
		sent++;
		buf.Length = 2047;
		PrepareIrp(irp, &done);
		if (InterlockedCompareExchange(&Stopping, 0, 0) != 0)
			break;
		status = WaitIrp(irp, &done, d->WskReceiveFrom(socket, &buf, 0, (PSOCKADDR)&from,
								0, NULL, NULL, irp),
				 REPLY_TIMEOUT_MS);
		if (status == STATUS_SUCCESS) {
			data[irp->IoStatus.Information] = '\0';
			DbgPrint("reply %lu: %s\n", (unsigned long)i + 1, (char *)data);
			echoed++;
		} else {
			DbgPrint("no reply to datagram %lu: 0x%08x\n", (unsigned long)i + 1,
				 (unsigned)status);
		}
	}
	SetCurrentIrp(NULL);
	DbgPrint("sent %lu, echoed %lu\n", (unsigned long)sent, (unsigned long)echoed);
out:
	if (socket != NULL) {
		PrepareIrp(irp, &done);
		WaitIrp(irp, &done, ((const WSK_PROVIDER_BASIC_DISPATCH *)socket->Dispatch)
					    ->WskCloseSocket(socket, irp), 0);
	}
	if (mdl != NULL)
		IoFreeMdl(mdl);
	if (data != NULL)
		ExFreePoolWithTag(data, UDP_TAG);
	if (irp != NULL)
		IoFreeIrp(irp);
	PsTerminateSystemThread(STATUS_SUCCESS);
}

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	WSK_CLIENT_NPI client = { NULL, &ClientDispatch };
	HANDLE thread;
	NTSTATUS status;

	KeInitializeSpinLock(&IrpLock);
	status = ReadParameters(RegistryPath);
	if (!NT_SUCCESS(status)) {
		DbgPrint("Parameters\\Server (REG_SZ) and Port (REG_DWORD) are required: 0x%08x\n",
			 (unsigned)status);
		return status;
	}
	status = WskRegister(&client, &Registration);
	if (!NT_SUCCESS(status))
		return status;
	status = WskCaptureProviderNPI(&Registration, WSK_INFINITE_WAIT, &Provider);
	if (NT_SUCCESS(status))
		status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL,
					      ClientThread, NULL);
	if (!NT_SUCCESS(status)) {
		if (Provider.Client != NULL)
			WskReleaseProviderNPI(&Registration);
		WskDeregister(&Registration);
		return status;
	}
	ObReferenceObjectByHandle(thread, THREAD_ALL_ACCESS, *PsThreadType, KernelMode,
				  (PVOID *)&Thread, NULL);
	ZwClose(thread);
	DriverObject->DriverUnload = UdpUnload;
	return STATUS_SUCCESS;
}

_Use_decl_annotations_
static VOID UdpUnload(PDRIVER_OBJECT DriverObject)
{
	KIRQL irql;

	UNREFERENCED_PARAMETER(DriverObject);
	InterlockedExchange(&Stopping, 1);
	KeAcquireSpinLock(&IrpLock, &irql);
	if (CurrentIrp != NULL)
		IoCancelIrp(CurrentIrp);
	KeReleaseSpinLock(&IrpLock, irql);
	KeWaitForSingleObject(Thread, Executive, KernelMode, FALSE, NULL);
	ObDereferenceObject(Thread);
	WskReleaseProviderNPI(&Registration);
	WskDeregister(&Registration);
	DbgPrint("unloaded\n");
}
