/*
 * fuzz_yaml.c — libFuzzer target for the YAML front end.
 */
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_one(CFGFS_FORMAT_YAML, data, size);
}
