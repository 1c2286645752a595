#pragma once
#include <stdexcept>
#include <string>

namespace ganpp {

// A failure the user can act on: the message names the file/key/value and what was expected.
// The CLI prints what() on one line and exits non-zero.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ganpp
