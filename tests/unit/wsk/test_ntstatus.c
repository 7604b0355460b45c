/* NTSTATUS values are Windows' own numbers (WSK-R6) and print under Windows' names. */
#include <string.h>

#include "ntstatus.h"
#include "wsk_test.h"

static const struct {
	NTSTATUS value;
	ULONG windows;          /* the number Windows' ntstatus.h gives it */
	const char *name;
} expected[] = {
	/* Listed in WSK-R6. */
	{ STATUS_PENDING, 0x00000103, "STATUS_PENDING" },
	{ STATUS_CANCELLED, 0xC0000120, "STATUS_CANCELLED" },
	{ STATUS_INVALID_DEVICE_STATE, 0xC0000184, "STATUS_INVALID_DEVICE_STATE" },
	{ STATUS_CONNECTION_RESET, 0xC000020D, "STATUS_CONNECTION_RESET" },
	{ STATUS_CONNECTION_REFUSED, 0xC0000236, "STATUS_CONNECTION_REFUSED" },
	{ STATUS_ADDRESS_ALREADY_ASSOCIATED, 0xC0000238, "STATUS_ADDRESS_ALREADY_ASSOCIATED" },
	{ STATUS_CONNECTION_ABORTED, 0xC0000241, "STATUS_CONNECTION_ABORTED" },
	{ STATUS_IO_TIMEOUT, 0xC00000B5, "STATUS_IO_TIMEOUT" },
	{ STATUS_FILE_FORCED_CLOSED, 0xC00000B6, "STATUS_FILE_FORCED_CLOSED" },
	{ STATUS_INVALID_HANDLE, 0xC0000008, "STATUS_INVALID_HANDLE" },
	{ STATUS_INVALID_PARAMETER, 0xC000000D, "STATUS_INVALID_PARAMETER" },
	{ STATUS_INSUFFICIENT_RESOURCES, 0xC000009A, "STATUS_INSUFFICIENT_RESOURCES" },
	{ STATUS_NOT_SUPPORTED, 0xC00000BB, "STATUS_NOT_SUPPORTED" },
	/* The rest the spec's rules name (R1, R2, F4, F7, C1..C10) and the API returns. */
	{ STATUS_SUCCESS, 0x00000000, "STATUS_SUCCESS" },
	{ STATUS_TIMEOUT, 0x00000102, "STATUS_TIMEOUT" },
	{ STATUS_BUFFER_OVERFLOW, 0x80000005, "STATUS_BUFFER_OVERFLOW" },
	{ STATUS_UNSUCCESSFUL, 0xC0000001, "STATUS_UNSUCCESSFUL" },
	{ STATUS_MORE_PROCESSING_REQUIRED, 0xC0000016, "STATUS_MORE_PROCESSING_REQUIRED" },
	{ STATUS_NO_MEMORY, 0xC0000017, "STATUS_NO_MEMORY" },
	{ STATUS_ACCESS_DENIED, 0xC0000022, "STATUS_ACCESS_DENIED" },
	{ STATUS_DEVICE_NOT_READY, 0xC00000A3, "STATUS_DEVICE_NOT_READY" },
	{ STATUS_INVALID_PARAMETER_1, 0xC00000EF, "STATUS_INVALID_PARAMETER_1" },
	{ STATUS_INVALID_PARAMETER_2, 0xC00000F0, "STATUS_INVALID_PARAMETER_2" },
	{ STATUS_INVALID_PARAMETER_3, 0xC00000F1, "STATUS_INVALID_PARAMETER_3" },
	{ STATUS_INVALID_ADDRESS, 0xC0000141, "STATUS_INVALID_ADDRESS" },
	{ STATUS_INVALID_BUFFER_SIZE, 0xC0000206, "STATUS_INVALID_BUFFER_SIZE" },
	{ STATUS_CONNECTION_DISCONNECTED, 0xC000020C, "STATUS_CONNECTION_DISCONNECTED" },
	{ STATUS_DATA_NOT_ACCEPTED, 0xC000021B, "STATUS_DATA_NOT_ACCEPTED" },
	{ STATUS_NOT_FOUND, 0xC0000225, "STATUS_NOT_FOUND" },
	{ STATUS_GRACEFUL_DISCONNECT, 0xC0000237, "STATUS_GRACEFUL_DISCONNECT" },
	{ STATUS_ADDRESS_NOT_ASSOCIATED, 0xC0000239, "STATUS_ADDRESS_NOT_ASSOCIATED" },
	{ STATUS_NETWORK_UNREACHABLE, 0xC000023C, "STATUS_NETWORK_UNREACHABLE" },
	{ STATUS_HOST_UNREACHABLE, 0xC000023D, "STATUS_HOST_UNREACHABLE" },
	{ STATUS_REQUEST_ABORTED, 0xC0000240, "STATUS_REQUEST_ABORTED" },
	{ STATUS_NOINTERFACE, 0xC00002B9, "STATUS_NOINTERFACE" },
};

#define COUNT (sizeof(expected) / sizeof(expected[0]))

/* WSK-R6: Windows' numbers. */
static int test_values(void)
{
	size_t i;

	for (i = 0; i < COUNT; i++) {
		if ((ULONG)expected[i].value != expected[i].windows)
			fprintf(stderr, "%s is 0x%08X\n", expected[i].name,
				(unsigned int)(ULONG)expected[i].value);
		CHECK((ULONG)expected[i].value == expected[i].windows);
	}
	return 0;
}

/* WSK-R6: logs read like Windows'. */
static int test_names(void)
{
	size_t i;

	for (i = 0; i < COUNT; i++) {
		if (strcmp(DpwNtStatusName(expected[i].value), expected[i].name) != 0)
			fprintf(stderr, "0x%08X prints as %s\n", (unsigned int)expected[i].windows,
				DpwNtStatusName(expected[i].value));
		CHECK(strcmp(DpwNtStatusName(expected[i].value), expected[i].name) == 0);
	}
	CHECK(strcmp(DpwNtStatusName((NTSTATUS)0xC0DE1234), "NTSTATUS 0xC0DE1234") == 0);
	CHECK(strcmp(DpwNtStatusName((NTSTATUS)0x00000007), "NTSTATUS 0x00000007") == 0);
	return 0;
}

/* WSK-R3: the severity classes callers branch on. */
static int test_severity(void)
{
	CHECK(NT_SUCCESS(STATUS_SUCCESS));
	CHECK(NT_SUCCESS(STATUS_PENDING));         /* pending is not a failure */
	CHECK(NT_SUCCESS(STATUS_TIMEOUT));
	CHECK(!NT_SUCCESS(STATUS_BUFFER_OVERFLOW)); /* a warning: NT_SUCCESS is false */
	CHECK(NT_WARNING(STATUS_BUFFER_OVERFLOW));
	CHECK(!NT_SUCCESS(STATUS_CANCELLED));
	CHECK(NT_ERROR(STATUS_CANCELLED));
	CHECK(NT_ERROR(STATUS_FILE_FORCED_CLOSED));
	CHECK(!NT_ERROR(STATUS_PENDING) && !NT_WARNING(STATUS_PENDING));
	CHECK(!NT_SUCCESS(STATUS_MORE_PROCESSING_REQUIRED));
	return 0;
}

/* Distinct values: a switch over statuses must not have two cases collide. */
static int test_distinct(void)
{
	size_t i, j;

	for (i = 0; i < COUNT; i++)
		for (j = i + 1; j < COUNT; j++)
			CHECK(expected[i].value != expected[j].value);
	return 0;
}

int main(void)
{
	int failures = 0;

	RUN(test_values);
	RUN(test_names);
	RUN(test_severity);
	RUN(test_distinct);
	return failures != 0;
}
