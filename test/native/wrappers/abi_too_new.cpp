// Test wrapper: declares an ABI version newer than the host's (as a function), so loading must fail.
#include <aiges/wrapper.h>

extern "C" WrapperAPI int aigesAbiVersion() { return AIGES_ABI_VERSION + 1; }

int WrapperAPI wrapperInit(pConfig) { return 0; }
int WrapperAPI wrapperExec(const char*, pParamList, pDataList, pDataList* respData, unsigned int[], int) {
  *respData = nullptr;
  return 0;
}
int WrapperAPI wrapperExecFree(const char*, pDataList*) { return 0; }
