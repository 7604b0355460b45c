/* Test-only hooks (not installed): make the engine's lwIP deterministic, so that a fuzzer or
 * a replayed input sees the same stack every time. Never called by the stack or the API. */
#ifndef DPW_TEST_HOOKS_H
#define DPW_TEST_HOOKS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* From now on lwIP's millisecond clock (sys_now) reads *now_ms, which the caller advances,
 * instead of the TSC; NULL goes back to the TSC. lwIP's timers assume a clock that never
 * goes backwards, so only ever advance it. */
void dpw_test_set_clock(const uint32_t *now_ms);

/* From now on every TCP connection's initial sequence number is isn, not a keyed hash
 * (RFC 6528): a fuzzer can then complete handshakes without reading the stack's replies. */
void dpw_test_set_fixed_isn(uint32_t isn);

/* How many times, in this process, engines sharing a port took its lock to hold or give
 * back a local port (a bind, a listener's spread, a connection joining or leaving a spread
 * port): what a connection accepted on a spread listener must not cost. */
uint64_t dpw_test_port_pin_locks(void);

#ifdef __cplusplus
}
#endif
#endif /* DPW_TEST_HOOKS_H */
