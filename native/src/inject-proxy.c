/*
 * The whole of build/libbrixlet-inject-nvml.so and libbrixlet-inject-dcmi.so: no code, only their
 * DT_NEEDED list (libbrixlet-inject.so, then the vendor soname), which is what dlsym searches on the
 * handle the interposer's dlopen returns for the vendor library. See src/inject-dlopen.c.
 */
typedef int brixlet_inject_proxy_has_no_code;
