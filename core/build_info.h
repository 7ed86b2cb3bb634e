#pragma once
// What this binary was built from, recorded with every run, bench row and training run.
#include <string>

namespace supra {

// Git revision of the source tree at build time (12 hex digits, "-dirty" when tracked files had changes;
// "unknown" outside a git checkout). Regenerated on every build, so a commit followed by a rebuild without
// reconfiguring records the new revision.
std::string build_git_revision();

}  // namespace supra
