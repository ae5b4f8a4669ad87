// One wrapper session (wrapperCreate … wrapperDestroy) and its serialised calls.
//
// Every call on the handle runs as a task of the session's strand, so calls on one handle never
// overlap and run in submission order, while different sessions run in parallel on the pool.
// Sync mode: after each wrapperWrite the host drains wrapperRead until NULL; once a frame with status
// DataEnd was written it keeps reading with back-off (yield, then 1, 2, 4, 8, 16, 20 ms …, reset when
// data arrives) until a result with DataEnd/DataOnce, without holding a worker between reads.
// Async mode: results come through HostCallback (callbacks.h), routed by the session's tag entry.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "core.h"

namespace aiges {

struct TagEntry;

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `entry` owns the usrTag handed to wrapperCreate; in async mode it is already registered.
  Session(std::shared_ptr<Core> core, std::shared_ptr<TagEntry> entry);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Each posts one Settle(op). Create uses req->params; Write uses req->data.
  void Create(uint64_t op, std::shared_ptr<Request> req);
  void Write(uint64_t op, std::shared_ptr<Request> req);
  // Exactly one wrapperDestroy per handle; afterwards results for this session are dropped.
  void Destroy(uint64_t op);

 private:
  // Sync mode: wrapperRead until NULL or a final result; delivers each result. Sets *got on data.
  std::optional<ErrorInfo> Drain(bool* got);
  void SchedulePoll(uint64_t gen);
  void Poll(uint64_t gen);
  void PostResult(std::vector<OwnedItem> items, std::optional<ErrorInfo> error, bool end);
  uint64_t id() const;

  const std::shared_ptr<Core> core_;
  const std::shared_ptr<TagEntry> entry_;
  const std::shared_ptr<Strand> strand_;

  // Touched only by strand tasks (one at a time, ordered by the strand's mutex).
  const void* handle_ = nullptr;
  bool destroyed_ = false;
  bool ended_ = false;      // a final result was delivered (sync mode)
  unsigned pollStep_ = 0;   // index into the back-off table
  uint64_t pollGen_ = 0;    // a newer End frame or an end of polling invalidates older poll chains
};

}  // namespace aiges
