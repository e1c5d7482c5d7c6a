// sinter-run: runs a compiled model (.so) on ONNX TensorProto files laid out
// as in the ONNX backend tests (DATA_DIR/input_K.pb), writes outputs, checks
// them against DATA_DIR/output_K.pb and times repeated runs.
#include "sinter/runtime/sinter.h"

#include "onnx/onnx_pb.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const char *kUsage =
    "usage: sinter-run LIB.so DATA_DIR [--out DIR] [--check [--rtol R] [--atol A]]\n"
    "                  [--bench N] [--threads K] [--device D] [--name SYMBOL]\n";

[[noreturn]] void die(const std::string &msg) {
  std::cerr << "sinter-run: error: " << msg << "\n";
  std::exit(2);
}

struct Options {
  std::string libPath, dataDir, outDir, symbol = "sinter_model";
  bool check = false;
  double relTol = 1e-4, absTol = 1e-5;
  int bench = 0, threads = 0, device = -1;
} opt;

double parseNumber(const std::string &flag, const std::string &text, bool integer) {
  char *end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end || std::isnan(v) || v < 0 || (integer && v != std::floor(v)))
    die(flag + ": '" + text + "' is not a " + (integer ? "non-negative integer" : "non-negative number"));
  return v;
}

void parseArgs(int argc, char **argv) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        die(a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      std::exit(0);
    } else if (a == "--out") {
      opt.outDir = value();
    } else if (a == "--check") {
      opt.check = true;
    } else if (a == "--rtol") {
      opt.relTol = parseNumber(a, value(), false);
    } else if (a == "--atol") {
      opt.absTol = parseNumber(a, value(), false);
    } else if (a == "--bench") {
      opt.bench = (int)parseNumber(a, value(), true);
    } else if (a == "--threads") {
      opt.threads = (int)parseNumber(a, value(), true);
    } else if (a == "--device") {
      opt.device = (int)parseNumber(a, value(), true);
    } else if (a == "--name") {
      opt.symbol = value();
    } else if (!a.empty() && a[0] == '-') {
      die("unknown flag '" + a + "'\n" + kUsage);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 2)
    die(std::string("expected LIB.so and DATA_DIR\n") + kUsage);
  opt.libPath = positional[0];
  opt.dataDir = positional[1];
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    die("cannot read '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A tensor read from or written to a .pb file, stored densely.
struct HostTensor {
  int32_t dtype = 0;
  std::vector<int64_t> shape;
  std::vector<char> bytes;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

HostTensor readTensor(const std::string &path) {
  std::string bytesOnDisk = readFile(path);
  onnx::TensorProto t;
  if (!t.ParseFromString(bytesOnDisk))
    die("'" + path + "' is not a serialized ONNX TensorProto");
  HostTensor h;
  h.dtype = t.data_type();
  size_t elem = sinter_dtype_size(h.dtype);
  if (!elem)
    die("'" + path + "': unsupported dtype " + std::to_string(h.dtype));
  for (int64_t d : t.dims()) {
    if (d < 0)
      die("'" + path + "': negative dimension");
    h.shape.push_back(d);
  }
  size_t bytes = h.numel() * elem;
  if (t.has_raw_data()) {
    if (t.raw_data().size() != bytes)
      die("'" + path + "': raw_data has " + std::to_string(t.raw_data().size()) + " bytes, shape needs " +
          std::to_string(bytes));
    h.bytes.assign(t.raw_data().begin(), t.raw_data().end());
    return h;
  }
  h.bytes.resize(bytes);
  auto copy = [&](const auto &field, auto convert) {
    if ((size_t)field.size() != (size_t)h.numel())
      die("'" + path + "': typed data has the wrong number of elements");
    for (int i = 0; i < field.size(); ++i)
      convert(i, field.Get(i));
  };
  char *p = h.bytes.data();
  switch (h.dtype) {
  case SINTER_FLOAT32: copy(t.float_data(), [&](int i, float v) { std::memcpy(p + 4 * i, &v, 4); }); break;
  case SINTER_FLOAT64: copy(t.double_data(), [&](int i, double v) { std::memcpy(p + 8 * i, &v, 8); }); break;
  case SINTER_INT64: copy(t.int64_data(), [&](int i, int64_t v) { std::memcpy(p + 8 * i, &v, 8); }); break;
  case SINTER_INT32: copy(t.int32_data(), [&](int i, int32_t v) { std::memcpy(p + 4 * i, &v, 4); }); break;
  case SINTER_INT16: copy(t.int32_data(), [&](int i, int32_t v) { int16_t x = v; std::memcpy(p + 2 * i, &x, 2); }); break;
  case SINTER_INT8: copy(t.int32_data(), [&](int i, int32_t v) { p[i] = (char)v; }); break;
  case SINTER_BOOL: copy(t.int32_data(), [&](int i, int32_t v) { p[i] = v != 0; }); break;
  default: copy(t.int32_data(), [&](int i, int32_t v) { uint16_t x = v; std::memcpy(p + 2 * i, &x, 2); }); break;
  }
  return h;
}

void writeTensor(const std::string &path, const sinter_tensor &t, const std::string &name) {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(t.dtype);
  int64_t n = 1;
  for (int i = 0; i < t.rank; ++i) {
    p.add_dims(t.shape[i]);
    n *= t.shape[i];
  }
  p.set_raw_data(std::string((const char *)t.data, n * sinter_dtype_size(t.dtype)));
  std::ofstream out(path, std::ios::binary);
  if (!out || !p.SerializeToOstream(&out))
    die("cannot write '" + path + "'");
}

double elementAsDouble(const char *p, int32_t dtype, int64_t i) {
  switch (dtype) {
  case SINTER_FLOAT32: { float v; std::memcpy(&v, p + 4 * i, 4); return v; }
  case SINTER_FLOAT64: { double v; std::memcpy(&v, p + 8 * i, 8); return v; }
  case SINTER_INT64: { int64_t v; std::memcpy(&v, p + 8 * i, 8); return (double)v; }
  case SINTER_INT32: { int32_t v; std::memcpy(&v, p + 4 * i, 4); return v; }
  case SINTER_INT16: { int16_t v; std::memcpy(&v, p + 2 * i, 2); return v; }
  case SINTER_INT8: return (int8_t)p[i];
  case SINTER_BOOL: return p[i] != 0;
  default: return NAN;
  }
}

/// Compares like numpy.allclose (NaN equals NaN); prints the worst element.
bool compare(const std::string &name, const sinter_tensor &got, const HostTensor &want) {
  std::vector<int64_t> shape(got.shape, got.shape + got.rank);
  if (got.dtype != want.dtype || shape != want.shape) {
    std::cout << "output '" << name << "': FAIL shape/dtype differ (got dtype " << got.dtype << " rank "
                 << got.rank << ", want dtype " << want.dtype << " rank " << want.shape.size() << ")\n";
    return false;
  }
  double worst = -1, worstGot = 0, worstWant = 0;
  int64_t worstAt = -1, bad = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double a = elementAsDouble((const char *)got.data, got.dtype, i);
    double b = elementAsDouble(want.bytes.data(), want.dtype, i);
    bool ok = (std::isnan(a) && std::isnan(b)) || a == b || std::fabs(a - b) <= opt.absTol + opt.relTol * std::fabs(b);
    double excess = ok ? 0 : std::fabs(a - b) / (opt.absTol + opt.relTol * std::fabs(b));
    if (std::isnan(excess))
      excess = INFINITY;
    bad += !ok;
    double err = ok ? std::fabs(a - b) : INFINITY;
    if ((!ok && excess > worst) || (worstAt < 0 || (bad == 0 && err > worst))) {
      worst = ok ? err : excess;
      worstAt = i;
      worstGot = a;
      worstWant = b;
    }
  }
  std::cout << "output '" << name << "': " << (bad ? "FAIL" : "ok") << " (" << bad << " of "
               << want.numel() << " outside rtol=" << opt.relTol << " atol=" << opt.absTol << ")";
  if (worstAt >= 0)
    std::cout << ", worst at " << worstAt << ": got " << worstGot << " want " << worstWant
                 << " (abs err " << std::fabs(worstGot - worstWant) << ")";
  std::cout << "\n";
  return bad == 0;
}

} // namespace

int main(int argc, char **argv) {
  parseArgs(argc, argv);
  const std::string &libPath = opt.libPath, &dataDir = opt.dataDir, &symbol = opt.symbol;
  if (!fs::is_directory(dataDir))
    die("'" + dataDir + "' is not a directory");

  std::string libAbs = libPath;
  if (libAbs.find('/') == std::string::npos)
    libAbs = "./" + libAbs; // dlopen searches the library path otherwise
  void *lib = dlopen(libAbs.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    die(std::string("cannot load '") + libPath + "': " + dlerror());
  using Getter = const sinter_model *(*)();
  auto getter = (Getter)dlsym(lib, symbol.c_str());
  if (!getter)
    die("'" + libPath + "' does not export '" + symbol + "' (see --name)");
  const sinter_model *m = getter();
  if (!m || m->abi_version != SINTER_ABI_VERSION)
    die("'" + libPath + "' has an incompatible ABI version");
  if (opt.device >= 0) {
    sinter_error err{};
    if (m->set_device(opt.device, &err) != SINTER_OK)
      die("--device " + std::to_string(opt.device) + ": " + err.message);
  }
  int threads = m->set_num_threads(opt.threads);
  if (opt.bench > 0)
    std::cout << "threads " << threads << "\n";

  std::vector<HostTensor> ins;
  std::vector<sinter_tensor> inTensors(m->num_inputs);
  for (int i = 0; i < m->num_inputs; ++i) {
    std::string p = dataDir + "/input_" + std::to_string(i) + ".pb";
    if (!fs::exists(p))
      die("model input " + std::to_string(i) + " ('" + m->inputs[i].name + "') has no file '" + p + "'");
    ins.push_back(readTensor(p));
  }
  for (int i = 0; i < m->num_inputs; ++i) {
    if (ins[i].shape.size() > SINTER_MAX_RANK)
      die("input " + std::to_string(i) + " has rank above " + std::to_string(SINTER_MAX_RANK));
    sinter_tensor &t = inTensors[i];
    t = {};
    t.data = ins[i].bytes.data();
    t.dtype = ins[i].dtype;
    t.rank = ins[i].shape.size();
    std::copy(ins[i].shape.begin(), ins[i].shape.end(), t.shape);
  }

  std::vector<sinter_tensor> outs(m->num_outputs);
  auto runOnce = [&]() {
    for (auto &o : outs) {
      if (o.data)
        m->free_output(o.data);
      o = {};
    }
    sinter_error err;
    int status = m->run(inTensors.data(), m->num_inputs, outs.data(), m->num_outputs, &err);
    if (status != SINTER_OK)
      die("run failed (status " + std::to_string(status) + "): " + err.message);
  };
  runOnce();

  bool ok = true;
  for (int i = 0; i < m->num_outputs; ++i) {
    if (!opt.outDir.empty()) {
      fs::create_directories(opt.outDir);
      writeTensor(opt.outDir + "/output_" + std::to_string(i) + ".pb", outs[i], m->outputs[i].name);
    }
    if (opt.check) {
      std::string p = dataDir + "/output_" + std::to_string(i) + ".pb";
      if (!fs::exists(p))
        die("--check: missing '" + p + "'");
      ok &= compare(m->outputs[i].name, outs[i], readTensor(p));
    }
  }
  if (opt.bench > 0) {
    std::vector<double> ms;
    for (int i = 0; i < opt.bench; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      runOnce();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::cout << "runs " << opt.bench << " min_ms " << ms.front() << "\nmedian_ms " << ms[ms.size() / 2] << "\n";
  }
  for (auto &o : outs)
    if (o.data)
      m->free_output(o.data);
  return ok ? 0 : 1;
}
