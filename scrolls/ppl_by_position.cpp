// PLACEHOLDER: being written.
#include "engine/error.h"
#include "scrolls/long_tasks.h"

namespace supra::scrolls {

std::unique_ptr<tasks::Task> make_ppl_by_position(const std::string&) { fail("task ppl_by_position is not implemented yet"); }

}  // namespace supra::scrolls
