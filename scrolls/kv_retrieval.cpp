// PLACEHOLDER: being written.
#include "engine/error.h"
#include "scrolls/long_tasks.h"

namespace supra::scrolls {

std::unique_ptr<tasks::Task> make_kv_retrieval() { fail("task kv_retrieval is not implemented yet"); }

}  // namespace supra::scrolls
