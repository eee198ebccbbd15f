/*
 * A fake libnvidia-ml.so.1 for tests: two made-up GPUs behind the few NVML
 * entry points internal/gpu calls, so the real go-nvml path (dlopen,
 * lazy symbol binding, nvmlInit/nvmlShutdown, dlclose) runs on machines
 * without an NVIDIA driver. Signatures follow nvml.h; the values are
 * arbitrary. Every call but init and error strings fails with
 * NVML_ERROR_UNINITIALIZED (1) unless nvmlInit succeeded, as NVML does.
 *
 *   FAKE_NVML_INIT=N   nvmlInit returns N instead of NVML_SUCCESS
 *   -DNO_UTIL          build without nvmlDeviceGetUtilizationRates (an old driver)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef int nvmlReturn_t;
typedef void *nvmlDevice_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;

static int initialised;

static nvmlReturn_t init(void) {
	const char *r = getenv("FAKE_NVML_INIT");
	if (r && atoi(r) != 0)
		return atoi(r);
	initialised++;
	return 0;
}

nvmlReturn_t nvmlInit_v2(void) { return init(); }
nvmlReturn_t nvmlInit(void) { return init(); }

nvmlReturn_t nvmlShutdown(void) {
	if (!initialised)
		return 1;
	initialised--;
	return 0;
}

const char *nvmlErrorString(nvmlReturn_t r) {
	static char buf[64];
	snprintf(buf, sizeof buf, "fake NVML error %d", r);
	return buf;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *v, unsigned int n) {
	if (!initialised)
		return 1;
	snprintf(v, n, "%s", "999.1.2");
	return 0;
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *v) {
	if (!initialised)
		return 1;
	*v = 12040;
	return 0;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *n) {
	if (!initialised)
		return 1;
	*n = 2;
	return 0;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d) {
	if (!initialised)
		return 1;
	if (i >= 2)
		return 2; /* NVML_ERROR_INVALID_ARGUMENT */
	*d = (nvmlDevice_t)(uintptr_t)(i + 1);
	return 0;
}

static int index_of(nvmlDevice_t d) { return (int)(uintptr_t)d - 1; }

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int n) {
	if (!initialised)
		return 1;
	snprintf(name, n, "Fake GPU %d", index_of(d));
	return 0;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned int n) {
	if (!initialised)
		return 1;
	snprintf(uuid, n, "GPU-fake-%d", index_of(d));
	return 0;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m) {
	if (!initialised)
		return 1;
	m->total = (unsigned long long)(index_of(d) + 1) << 30;
	m->used = (unsigned long long)(index_of(d) + 1) << 20;
	m->free = m->total - m->used;
	return 0;
}

#ifndef NO_UTIL
nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u) {
	if (!initialised)
		return 1;
	u->gpu = 10 + index_of(d);
	u->memory = 20 + index_of(d);
	return 0;
}
#endif
