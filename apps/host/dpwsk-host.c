/* dpwsk-host: runs a WSK client driver written for Windows, unchanged, on dpwsk.
 *
 *   dpwsk-host [ENGINE OPTIONS] DRIVER.so [-- EAL ARGS]
 *
 * The driver is built from its Windows source as a shared object (km/include/ntddk.h says
 * how) and finds its kernel calls (Ke*, Ex*, Ps*, Ob*, Zw*, DbgPrint, Io*, Wsk*) here. The
 * host starts the engine with the provider attached, as every dpwsk program does, gives new
 * WSK clients Windows' completion timing (a delivery thread per client, and routines run
 * before a non-PENDING return: dpwsk.h), loads the driver and calls its DriverEntry with a
 * DRIVER_OBJECT. At SIGINT or SIGTERM it calls the driver's DriverUnload, then reports
 * anything the driver left behind: WSK clients still registered, sockets still open, IRPs
 * never freed, data indications and security descriptors never released (the provider
 * reports which at WskDeregister), and from the kernel calls, system threads still running,
 * handles never closed, references never dropped, pool memory never freed (per tag).
 *
 * Exit status: 0 after a clean unload, 3 if the driver leaked anything, 1 if it could not be
 * loaded or its DriverEntry failed (the status is printed), 2 for a bad command line. */
#define DPW_KM_RUNTIME   /* the host is not driver code: no -fshort-wchar check */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "km.h"
#include "ntddk.h"

static const char *driver_path;

/* --param NAME=VALUE: a value in the driver's registry key, as Windows drivers read their
 * configuration (ZwOpenKey on RegistryPath\Parameters, ZwQueryValueKey). */
static int set_param(void *ctx, const char *val, char *err, size_t errlen)
{
	const char *eq = strchr(val, '=');
	char name[64];

	(void)ctx;
	if (eq == NULL || eq == val || (size_t)(eq - val) >= sizeof(name)) {
		snprintf(err, errlen, "--param wants NAME=VALUE, got '%s'", val);
		return -1;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(eq - val), val);
	if (dpw_km_registry_set(name, eq + 1) != 0) {
		snprintf(err, errlen, "--param %s: too long, or too many values", name);
		return -1;
	}
	return 0;
}

static int validate(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	if (driver_path == NULL) {
		snprintf(err, errlen, "a driver to load is required (a shared object, DRIVER.so)");
		return -1;
	}
	return 0;
}

/* "\Driver\<name>" and the registry path, as UTF-16 strings a driver can print or keep. */
static WCHAR driver_name_w[128], registry_w[192];

static void to_utf16(WCHAR *out, size_t cap, const char *a, const char *b)
{
	size_t n = 0;

	for (const char *s = a; *s != '\0' && n + 1 < cap; s++)
		out[n++] = (WCHAR)(unsigned char)*s;
	for (const char *s = b; *s != '\0' && n + 1 < cap; s++)
		out[n++] = (WCHAR)(unsigned char)*s;
	out[n] = 0;
}

/* The driver's name: its file's, without directory and extension. */
static void name_of(const char *path, char *out, size_t cap)
{
	const char *base = strrchr(path, '/');
	char *dot;

	snprintf(out, cap, "%s", base != NULL ? base + 1 : path);
	if ((dot = strchr(out, '.')) != NULL)
		*dot = '\0';
}

struct counts {
	DPW_PROVIDER_STATS provider;
	DPW_IRP_STATS irps;
	DPW_SECURITY_STATS security;
};

static void take_counts(struct counts *c)
{
	DpwGetProviderStats(&c->provider);
	DpwGetIrpStats(&c->irps);
	DpwGetSecurityStats(&c->security);
}

/* What the driver left behind, from the provider's counters before DriverEntry and after
 * DriverUnload, and from the kernel calls. The number of kinds of leak (0: none). */
static unsigned report_leaks(const struct counts *before, const char *name)
{
	struct counts after;
	unsigned kinds = 0;
	long long irps;

	take_counts(&after);
	/* The host's own client is registered throughout: everything above it is the driver's. */
	if (after.provider.ClientsRegistered > before->provider.ClientsRegistered) {
		fprintf(stderr, "%s: %u WSK clients never deregistered (WskDeregister)\n", name,
			after.provider.ClientsRegistered - before->provider.ClientsRegistered);
		kinds++;
	}
	if (after.provider.SocketsOpen > 0) {
		fprintf(stderr, "%s: %u sockets never closed (WskCloseSocket)\n", name,
			after.provider.SocketsOpen);
		kinds++;
	}
	irps = (long long)(after.irps.Allocated - before->irps.Allocated) -
	       (long long)(after.irps.Freed - before->irps.Freed);
	if (irps > 0) {
		fprintf(stderr, "%s: %lld IRPs never freed (IoFreeIrp)\n", name, irps);
		kinds++;
	}
	if (after.provider.UnreleasedAtDeregister > before->provider.UnreleasedAtDeregister) {
		fprintf(stderr, "%s: %llu data indications never released (WskRelease)\n", name,
			(unsigned long long)(after.provider.UnreleasedAtDeregister -
					     before->provider.UnreleasedAtDeregister));
		kinds++;
	}
	if (after.security.ReportedAtDeregister > before->security.ReportedAtDeregister ||
	    after.security.CachedHandles > before->security.CachedHandles) {
		fprintf(stderr, "%s: %llu security descriptors never released (WSK_RELEASE_SD)\n",
			name,
			(unsigned long long)(after.security.ReportedAtDeregister -
					     before->security.ReportedAtDeregister +
					     (after.security.CachedHandles -
					      before->security.CachedHandles)));
		kinds++;
	}
	return kinds + dpw_km_report_leaks(stderr, name);
}

int main(int argc, char **argv)
{
	static struct dpw_app app;
	static const struct dpw_cli_opt opts[] = {
		{ "param", true, "NAME=VALUE",
		  "a value in the driver's registry key (its Parameters); digits make a "
		  "REG_DWORD, anything else a REG_SZ; repeat for more",
		  set_param },
		{ NULL, false, NULL, NULL, NULL },
	};
	char service[160];
	struct dpw_cli cli = {
		.synopsis = "[OPTIONS] DRIVER.so [-- EAL ARGS]",
		.opts = opts,
		.operand_name = "driver",
		.operand = &driver_path,
		.validate = validate,
	};
	static DRIVER_OBJECT driver;
	UNICODE_STRING registry;
	PDRIVER_INITIALIZE entry;
	char name[64], line[160];
	struct counts before;
	void *image;
	NTSTATUS st;
	unsigned leaks;
	int rc;

	dpw_app_parse(&app, argc, argv, &cli);
	name_of(driver_path, name, sizeof(name));
	/* Loaded before anything starts: a driver that cannot load is told at once. */
	image = dlopen(driver_path, RTLD_NOW | RTLD_LOCAL);
	if (image == NULL) {
		fprintf(stderr, "%s: error: cannot load %s: %s\n", app.prog, driver_path, dlerror());
		return 1;
	}
	entry = (PDRIVER_INITIALIZE)dlsym(image, "DriverEntry");
	if (entry == NULL) {
		fprintf(stderr, "%s: error: %s has no DriverEntry\n", app.prog, driver_path);
		dlclose(image);
		return 1;
	}

	dpw_app_start(&app, NULL, true);
	/* Every client registered from here on is the driver's: Windows' timing. */
	DpwSetDefaultCompletionDelivery(DpwDeliverWindows);
	dpw_km_set_driver_name(name);
	snprintf(service, sizeof(service),
		 "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\%s", name);
	dpw_km_set_service_key(service);
	to_utf16(driver_name_w, sizeof(driver_name_w) / sizeof(WCHAR), "\\Driver\\", name);
	to_utf16(registry_w, sizeof(registry_w) / sizeof(WCHAR),
		 "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\", name);
	driver.Type = 4;   /* IO_TYPE_DRIVER */
	driver.Size = sizeof(driver);
	driver.DriverStart = image;
	driver.DriverInit = entry;
	RtlInitUnicodeString(&driver.DriverName, driver_name_w);
	RtlInitUnicodeString(&registry, registry_w);
	take_counts(&before);

	st = entry(&driver, &registry);
	if (!NT_SUCCESS(st)) {
		fprintf(stderr, "%s: error: DriverEntry of %s failed: %s\n", app.prog, name,
			DpwNtStatusName(st));
		dpw_app_stop();
		rc = dpw_app_finish(&app);
		(void)rc;
		return 1;
	}
	snprintf(line, sizeof(line), "driver %s loaded", name);
	dpw_app_ready(&app, line);

	while (!dpw_app_stopping())
		dpw_app_wait(&app, 100);

	if (driver.DriverUnload != NULL)
		driver.DriverUnload(&driver);
	else
		fprintf(stderr, "%s: %s has no DriverUnload: it cannot be unloaded\n", app.prog,
			name);
	leaks = report_leaks(&before, name);
	if (leaks == 0)
		fprintf(stderr, "%s: %s unloaded, nothing left behind\n", app.prog, name);
	/* Code of the driver may still run on a thread it left: keep the image then. */
	{
		struct dpw_km_leaks k;

		dpw_km_leaks(&k);
		if (k.threads_running == 0)
			dlclose(image);
	}
	rc = dpw_app_finish(&app);
	return leaks > 0 ? 3 : rc;
}
