#pragma once
// What this binary was built from, recorded with every run, bench row and training run.
#include <string>

namespace supra {

// Git revision of the source tree at build time (12 hex digits, "-dirty" when tracked files had changes;
// "unknown" outside a git checkout). Regenerated on every build, so a commit followed by a rebuild without
// reconfiguring records the new revision.
std::string build_git_revision();

// The source tree this binary was built from (CMAKE_SOURCE_DIR): where the bundled data and reference files live
// for a binary run from its build. An installed binary or a moved tree points at them with an option or SUPRA_DATA_DIR.
std::string build_source_root();

}  // namespace supra
