// Must NOT compile: a module above hsm/ (this probe links jitsuin_ca) including the PKCS#11 API.
#include <p11-kit/pkcs11.h>
int main() { return 0; }
