/* The provider's counters through DPDK telemetry: `/dpwsk/wsk` (dpdk-telemetry.py), next to
 * the engine's `/dpwsk/stats`. The counters are atomics, so the telemetry thread reads them
 * directly. */
#include <rte_telemetry.h>

#include "request_internal.h"

static int wsk_cmd(const char *cmd, const char *params, struct rte_tel_data *d)
{
	DPW_PROVIDER_STATS s;

	(void)cmd;
	(void)params;
	DpwGetProviderStats(&s);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "requests", s.Requests);
	rte_tel_data_add_dict_u64(d, "inline_requests", s.InlineRequests);
	rte_tel_data_add_dict_u64(d, "ring_full", s.RingFull);
	rte_tel_data_add_dict_u64(d, "completions", s.Completions);
	rte_tel_data_add_dict_u64(d, "completion_spills", s.CompletionSpills);
	rte_tel_data_add_dict_u64(d, "invalid_handles", s.InvalidHandles);
	rte_tel_data_add_dict_u64(d, "concurrent_close", s.ConcurrentClose);
	rte_tel_data_add_dict_u64(d, "sockets_open", s.SocketsOpen);
	rte_tel_data_add_dict_u64(d, "heap_requests", s.HeapRequests);
	rte_tel_data_add_dict_u64(d, "heap_indications", s.HeapIndications);
	rte_tel_data_add_dict_u64(d, "bad_transitions", s.BadTransitions);
	rte_tel_data_add_dict_u64(d, "listeners_spread", s.ListenersSpread);
	rte_tel_data_add_dict_u64(d, "listeners_not_spread", s.ListenersNotSpread);
	rte_tel_data_add_dict_u64(d, "accepts_handed_over", s.AcceptsHandedOver);
	rte_tel_data_add_dict_u64(d, "sockets_moved", s.SocketsMoved);
	rte_tel_data_add_dict_u64(d, "requests_handed_on", s.RequestsHandedOn);
	return 0;
}

/* Called at attach; commands cannot be unregistered, so once per process. */
void dpw_telemetry_provider(void)
{
	static bool registered;

	if (!registered)
		registered = rte_telemetry_register_cmd("/dpwsk/wsk", wsk_cmd,
				"The dpwsk WSK provider's counters. No parameters.") == 0;
}
