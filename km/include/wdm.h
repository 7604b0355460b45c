/* <wdm.h> and <ntddk.h> are one header here (ntddk.h says what it holds). */
#include "ntddk.h"
