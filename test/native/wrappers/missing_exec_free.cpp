// Test wrapper: exports wrapperInit and wrapperExec but not wrapperExecFree, so once-sync mode must
// refuse to load it (and session mode must name all four missing session functions).
// It also exports aigesAbiVersion as an int variable (native-echo exports it as a function) and a
// failing wrapperExecAsync, so that once-async mode loads it.
#include <aiges/wrapper.h>

int WrapperAPI wrapperInit(pConfig) { return 0; }

int WrapperAPI wrapperExec(const char*, pParamList, pDataList, pDataList* respData, unsigned int[], int) {
  *respData = nullptr;
  return 0;
}

extern "C" WrapperAPI const int aigesAbiVersion = 1;

// Lets once-async mode load this library (to read aigesAbiVersion); every call fails.
int WrapperAPI wrapperExecAsync(const char*, pParamList, pDataList, wrapperCallback, int, unsigned int[], int) {
  return 1;
}
