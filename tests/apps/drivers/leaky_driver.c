/* A driver that leaves things behind on purpose, for the host's leak report (host_leaks.sh):
 * a pool block under its tag, a thread handle it never closes (the thread has ended), a
 * registry key it never closes, a datagram socket it never closes, an IRP it never frees, a
 * security descriptor it cached and never released (WSK_CACHE_SD without WSK_RELEASE_SD) and
 * a WSK client it never deregisters. Written as Windows driver code, like examples/drivers,
 * but for the descriptor: dpwsk's are its own kind (wsk_options.h). */
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
	DriverObject->DriverUnload = LeakyUnload;
	return STATUS_SUCCESS;
}

_Use_decl_annotations_
static VOID LeakyUnload(PDRIVER_OBJECT DriverObject)
{
	UNREFERENCED_PARAMETER(DriverObject);
	WskReleaseProviderNPI(&Registration);   /* and nothing else */
}
