#include "core/build_info.h"

// Written by cmake/GitRevision.cmake before each build (only when the revision changed, so only this file
// recompiles): defines SUPRA_GIT_REV.
#include "core/git_revision.h"

namespace supra {

std::string build_git_revision() { return SUPRA_GIT_REV; }

}  // namespace supra
