// Shared body of the header-spelling test wrappers (usrtag_*.cpp): once async, echoing the first
// input through the callback. Each includer picks a header spelling and defines UsrTag as the
// usrTag type it expects wrapperCallback to take; the explicitly typed pointer below only compiles
// when the header declares wrapperCallback with that type.
#include <cstring>

typedef int (*ExpectedCallback)(UsrTag usrTag, pDataList respData, int ret);

int WrapperAPI wrapperInit(pConfig) { return 0; }

int WrapperAPI wrapperExecAsync(const char* usrTag, pParamList, pDataList reqData, wrapperCallback callback, int,
                                unsigned int[], int) {
  ExpectedCallback cb = callback;
  DataList out = *reqData;
  out.status = DataOnce;
  out.next = nullptr;
  return cb(static_cast<UsrTag>(usrTag), &out, 0);
}
