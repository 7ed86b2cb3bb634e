#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace supra {

MappedFile map_file(const std::string& path) {
  MappedFile m;
  m.path = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    fail("{}: cannot stat: {}", path, std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file", path);
  }
  m.size = size_t(st.st_size);
  if (m.size == 0) {  // mmap refuses length 0; callers report the file as too short
    ::close(fd);
    return m;
  }
  void* p = ::mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  ::close(fd);  // the mapping stays valid without the descriptor
  if (p == MAP_FAILED) fail("{}: mmap of {} bytes failed: {}", path, m.size, std::strerror(e));
  const size_t n = m.size;
  m.owner = std::shared_ptr<void>(p, [n](void* q) { ::munmap(q, n); });
  m.data = static_cast<uint8_t*>(p);
  return m;
}

}  // namespace supra
