#include "core/build_info.h"

// Written by cmake/GitRevision.cmake before each build (only when the revision changed, so only this file
// recompiles): defines SUPRA_GIT_REV.
#include "core/git_revision.h"

namespace supra {

std::string build_git_revision() { return SUPRA_GIT_REV; }

// SUPRA_SOURCE_ROOT is a compile definition of this file only (CMakeLists.txt): an absolute path, unlike __FILE__,
// which compiler launchers such as ccache may make relative to the build folder.
std::string build_source_root() { return SUPRA_SOURCE_ROOT; }

}  // namespace supra
