/*
 * aiges/type.h — data types of the AIGes wrapper C ABI, as aiges-ts's native host implements it.
 *
 * Layouts and enum values match iFLYTEK AIGes (xfyun/aiges) so that existing wrapper sources
 * compile unchanged against these headers. Do not reorder fields or renumber enums.
 */
#ifndef AIGES_TYPE_H
#define AIGES_TYPE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Marks a function exported by a wrapper (or a pointer to one). Usable before or after the
 * return type and inside function-pointer typedefs, as AIGes wrappers write it. */
#ifndef WrapperAPI
#if defined(_WIN32)
#define WrapperAPI __declspec(dllexport)
#else
#define WrapperAPI __attribute__((visibility("default")))
#endif
#endif

/* Kinds of control callbacks handed to wrapperSetCtrl. */
typedef enum {
    CTMeterCustom = 0, /* a wrapperMeterCustom */
    CTMetricsLog = 1,  /* reserved */
    CTTraceLog = 2     /* a wrapperTraceLog */
} CtrlType;

/* Kind of payload a DataList node carries. */
typedef enum {
    DataText = 0,
    DataAudio = 1,
    DataImage = 2,
    DataVideo = 3,
    DataPer = 4 /* other / personalisation data */
} DataType;

/* Position of a node in a stream. DataEnd or DataOnce on an output marks the last result. */
typedef enum {
    DataBegin = 0,
    DataContinue = 1,
    DataEnd = 2,
    DataOnce = 3
} DataStatus;

/* A singly linked list of string key/values: request params, config, item descriptions.
 * `value` is NUL-terminated; `vlen` is its length without the NUL. */
struct ParamList {
    char* key;
    char* value;
    unsigned int vlen;
    struct ParamList* next;
};
typedef struct ParamList* pParamList;
typedef struct ParamList* pConfig;   /* the [wrapper] config section */
typedef struct ParamList* pDescList; /* an item's attributes (encoding, sample_rate, ...) */

/* A singly linked list of data items, one node per key. */
struct DataList {
    char* key;
    void* data;
    unsigned int len;
    DataType type;
    DataStatus status;
    pDescList desc;
    struct DataList* next;
};
typedef struct DataList* pDataList;

#ifdef __cplusplus
}
#endif

#endif /* AIGES_TYPE_H */
