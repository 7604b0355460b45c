/* Test-only hooks of the provider (not installed; the engine's are in dpw/test_hooks.h).
 * Never called by the provider or the programs. */
#ifndef DPWSK_PROVIDER_TEST_HOOKS_H
#define DPWSK_PROVIDER_TEST_HOOKS_H

#include <stdbool.h>

/* From now on (true) requests and data indications come from the heap, one calloc each, as
 * if their pools were empty: a test that makes calloc fail can then see what the provider
 * does when memory runs out. false goes back to the pools. */
void dpw_test_provider_heap(bool on);

/* The handle table's size in slots: a full table must have refused only when every one of
 * them held a socket, whichever lcores made and freed them. */
unsigned dpw_test_socket_table_slots(void);

#endif /* DPWSK_PROVIDER_TEST_HOOKS_H */
