// The kernel-call headers and wsk.h as C++17 driver code includes them: they compile with
// -Wall -Wextra -Werror, and their inline calls (lists, Interlocked*, ntstrsafe) work.
#include <ntddk.h>
#include <ntstrsafe.h>
#include <wsk.h>

#include <cstdio>

static int failures;

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			failures++;                                                     \
			std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
		}                                                                       \
	} while (0)

struct item {
	LIST_ENTRY link;
	int value;
};

int main()
{
	LIST_ENTRY head;
	item a{}, b{};
	LONG v = 1;
	char text[8];

	InitializeListHead(&head);
	a.value = 1;
	b.value = 2;
	InsertTailList(&head, &a.link);
	InsertTailList(&head, &b.link);
	CHECK(CONTAINING_RECORD(RemoveHeadList(&head), item, link)->value == 1);
	CHECK(!IsListEmpty(&head));
	CHECK(CONTAINING_RECORD(RemoveTailList(&head), item, link)->value == 2);
	CHECK(IsListEmpty(&head));
	CHECK(InterlockedIncrement(&v) == 2 && InterlockedCompareExchange(&v, 5, 2) == 2 && v == 5);
	CHECK(RtlStringCbPrintfA(text, sizeof(text), "%d", 1234) == STATUS_SUCCESS);
	CHECK(RtlStringCbPrintfA(text, sizeof(text), "%s", "too long for it") ==
	      STATUS_BUFFER_OVERFLOW);
	CHECK(sizeof(WCHAR) == 2 && SOL_SOCKET == 0xffff && RtlUshortByteSwap(0x1234) == 0x3412);
	std::printf("%s\n", failures == 0 ? "C++17: all checks passed" : "C++17: failures");
	return failures == 0 ? 0 : 1;
}
