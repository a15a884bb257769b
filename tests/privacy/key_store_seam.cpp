// Must compile: the key-store seam is what modules above hsm/ see (the control of the probes).
#include "jitsuin/hsm/key_store.h"
int main() { return 0; }
