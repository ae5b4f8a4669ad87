// Test wrapper: declares ABI version 0 (as a variable), not a positive integer, so loading must fail.
#include <aiges/wrapper.h>

extern "C" WrapperAPI const int aigesAbiVersion = 0;

int WrapperAPI wrapperInit(pConfig) { return 0; }
int WrapperAPI wrapperExec(const char*, pParamList, pDataList, pDataList* respData, unsigned int[], int) {
  *respData = nullptr;
  return 0;
}
int WrapperAPI wrapperExecFree(const char*, pDataList*) { return 0; }
