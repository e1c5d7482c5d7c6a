// libFuzzer target: arbitrary bytes as a calibration profile. Every input
// must parse or fail with a message; what parses must write and parse back
// the same.
#include "sinter/Compression/Profile.h"

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  auto profile = sinter::parseProfile(llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz", error);
  if (!profile) {
    if (error.empty())
      std::abort(); // a failure without a message
    return 0;
  }
  std::string path = "/tmp/sinter-fuzz-profile-" + std::to_string(getpid()) + ".json";
  if (!sinter::writeProfile(*profile, path, error))
    std::abort();
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  unlink(path.c_str());
  auto again = sinter::parseProfile(text.str(), path, error);
  if (!again || again->layers.size() != profile->layers.size())
    std::abort(); // what we write we must read
  for (size_t i = 0; i < profile->layers.size(); ++i)
    if (again->layers[i].neurons != profile->layers[i].neurons ||
        again->layers[i].inputs.size() != profile->layers[i].inputs.size() ||
        again->layers[i].magnitude != profile->layers[i].magnitude ||
        again->layers[i].score != profile->layers[i].score ||
        again->layers[i].predictor.out != profile->layers[i].predictor.out)
      std::abort();
  return 0;
}
