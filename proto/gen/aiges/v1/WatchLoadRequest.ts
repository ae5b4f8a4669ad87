// Original file: proto/aiges/v1/loader.proto


export interface WatchLoadRequest {
}

export interface WatchLoadRequest__Output {
}
