// PLACEHOLDER: being written.
#include "engine/error.h"
#include "scrolls/long_tasks.h"

namespace supra::scrolls {

std::unique_ptr<tasks::Task> make_passkey() { fail("task passkey is not implemented yet"); }

}  // namespace supra::scrolls
