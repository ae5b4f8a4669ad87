// One wrapper session (wrapperCreate … wrapperDestroy) and its serialised calls.
//
// Every call on the handle runs as a task of the session's strand, so calls on one handle never
// overlap and run in submission order, while different sessions run in parallel on the pool.
//
// Reading follows AIGes's loader, which existing wrappers are written against:
// - The input just written is the last when every key written so far has status DataEnd/DataOnce.
// - Sync mode (wrapperRead): after an intermediate write, one read when `realTimeRlt` (none
//   otherwise). After the last write, reads until a result with DataEnd/DataOnce: at once, then with
//   back-off (a re-queue, then 1, 2, 4 … ms up to `readInterval`) without holding a worker between
//   reads. A read returning the same content as the previous one in this phase is no new result (a
//   wrapper that hands out its latest result on every read yields it once). When `finalReadWait`
//   passes without a new result, the session ends with a wrapperRead error (10908) instead of
//   reading for ever.
// - Async mode (callback, callbacks.h): results come when the wrapper calls back; those after the
//   final one are dropped. When `finalReadWait` passes after the last write (or the last result)
//   without the final one, the session ends with a wrapperCallback error (10910).
// - The client bounds what waits for it (result_flow.h): while it holds results back, the strand
//   suspends before the next write or read, and callbacks block.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "core.h"
#include "result_flow.h"

namespace aiges {

struct TagEntry;

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `entry` owns the usrTag handed to wrapperCreate and the session's ResultFlow; in async mode it
  // is already registered.
  Session(std::shared_ptr<Core> core, std::shared_ptr<TagEntry> entry);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Each posts one Settle(op). Create uses req->params; Write uses req->data.
  void Create(uint64_t op, std::shared_ptr<Request> req);
  void Write(uint64_t op, std::shared_ptr<Request> req);
  // Exactly one wrapperDestroy per handle; afterwards results for this session are dropped. The JS
  // side closes the flow first: from then on nothing is read and callbacks are dropped.
  void Destroy(uint64_t op);

  ResultFlow& flow();

 private:
  struct ReadOutcome {
    bool fresh = false;  // a result was posted
  };

  void DoWrite(uint64_t op, const std::shared_ptr<Request>& req);
  // True when the client holds results back: the strand is then suspended and `retry` runs once
  // it takes results again (or the session is being destroyed).
  bool HoldForClient(Task retry);
  // Records the keys' statuses; true when the input just written is the last (see above).
  bool NoteInputs(const std::vector<InputItem>& items);
  // Sync mode: one wrapperRead; posts its result unless it repeats the previous one of the final phase.
  std::optional<ErrorInfo> ReadOnce(ReadOutcome* outcome);
  void SchedulePoll(uint64_t gen);
  void Poll(uint64_t gen);
  // Async mode: ends the session when no final result comes in time after the last write.
  void ArmFinalWait();
  void CheckFinal(std::chrono::milliseconds after);
  void PostResult(std::vector<OwnedItem> items, std::optional<ErrorInfo> error, bool end);
  uint64_t id() const;

  const std::shared_ptr<Core> core_;
  const std::shared_ptr<TagEntry> entry_;
  const std::shared_ptr<Strand> strand_;
  std::atomic<bool> finalWaitArmed_{false};

  // Touched only by strand tasks (one at a time, ordered by the strand's mutex).
  const void* handle_ = nullptr;
  bool destroyed_ = false;
  bool ended_ = false;  // the final result or an error was delivered: no more reads
  std::unordered_map<std::string, int> keyStatus_;
  bool finalPhase_ = false;                          // sync: the last input was written
  std::optional<uint64_t> lastFingerprint_;          // sync: the previous result of the final phase
  std::chrono::steady_clock::time_point waitFrom_;  // sync: the last write or new result of the final phase
  unsigned pollStep_ = 0;                            // index into the back-off
  uint64_t pollGen_ = 0;  // a newer last write or the end of polling invalidates older poll chains
};

}  // namespace aiges
