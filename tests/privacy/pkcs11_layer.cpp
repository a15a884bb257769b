// Must NOT compile: a module above hsm/ (this probe links jitsuin_ca) reaching hsm's PKCS#11 layer.
#include "jitsuin/hsm/pkcs11.h"
int main() { return 0; }
