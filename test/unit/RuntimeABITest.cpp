// Every error path of the emitted object's C ABI, on a model compiled by
// sinter-compile in the test fixture: a status and message per misuse.
#include "TestModels.h"

#include "sinter/runtime/sinter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

class RuntimeABI : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    // One file per process: ctest runs each test in its own process, in
    // parallel, and one must not load a library another is rewriting.
    std::string dir = ::testing::TempDir() + "/abi_linear_" + std::to_string(getpid());
    std::string onnxPath = dir + ".onnx";
    soPath = dir + ".so";
    std::ofstream(onnxPath, std::ios::binary) << sinter::test::serialize(sinter::test::linearModel());
    std::string cmd = std::string(SINTER_BIN_DIR) + "/sinter-compile " + onnxPath + " -o " + soPath +
                      " --name=linear_model";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    lib = dlopen(soPath.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(lib, nullptr) << dlerror();
    auto getter = reinterpret_cast<const sinter_model *(*)()>(dlsym(lib, "linear_model"));
    ASSERT_NE(getter, nullptr);
    model = getter();
  }
  static void TearDownTestSuite() {
    if (lib)
      dlclose(lib);
  }

  void SetUp() override {
    ASSERT_NE(model, nullptr);
    std::memset(in, 0, sizeof(in));
    std::memset(out, 0, sizeof(out));
    in[0].data = x;
    in[0].dtype = SINTER_FLOAT32;
    in[0].rank = 2;
    in[0].shape[0] = 2;
    in[0].shape[1] = 3;
    in[1].data = ids;
    in[1].dtype = SINTER_INT64;
    in[1].rank = 1;
    in[1].shape[0] = 2;
  }
  void TearDown() override {
    for (auto &o : out)
      if (o.data && !callerOwned)
        model->free_output(o.data);
  }
  int run() { return model->run(in, 2, out, 2, &err); }

  static std::string soPath;
  static void *lib;
  static const sinter_model *model;
  float x[6] = {1, 2, 3, 4, 5, 6};
  int64_t ids[2] = {7, -3};
  sinter_tensor in[2], out[2];
  sinter_error err;
  bool callerOwned = false;
};
std::string RuntimeABI::soPath;
void *RuntimeABI::lib = nullptr;
const sinter_model *RuntimeABI::model = nullptr;

TEST_F(RuntimeABI, DescribesInputsAndOutputs) {
  EXPECT_EQ(model->abi_version, (uint32_t)SINTER_ABI_VERSION);
  EXPECT_STREQ(model->name, "linear_model");
  ASSERT_EQ(model->num_inputs, 2);
  ASSERT_EQ(model->num_outputs, 2);
  EXPECT_STREQ(model->inputs[0].name, "x");
  EXPECT_EQ(model->inputs[0].dtype, SINTER_FLOAT32);
  EXPECT_EQ(model->inputs[0].dims[0], -1);
  EXPECT_STREQ(model->inputs[0].dim_names[0], "batch");
  EXPECT_EQ(model->inputs[0].dims[1], 3);
  EXPECT_STREQ(model->outputs[0].name, "y");
  EXPECT_EQ(model->outputs[1].dtype, SINTER_INT64);
}

TEST_F(RuntimeABI, RunsAndAllocatesOutputs) {
  ASSERT_EQ(run(), SINTER_OK) << err.message;
  ASSERT_EQ(out[0].rank, 2);
  EXPECT_EQ(out[0].shape[0], 2);
  EXPECT_EQ(out[0].shape[1], 4);
  // y = x · W + b with W[k][j] = 0.5 (4k + j) - 2, b[j] = j.
  const float *y = static_cast<float *>(out[0].data);
  for (int r = 0; r < 2; ++r)
    for (int j = 0; j < 4; ++j) {
      float want = j;
      for (int k = 0; k < 3; ++k)
        want += x[r * 3 + k] * (0.5f * (4 * k + j) - 2.f);
      EXPECT_FLOAT_EQ(y[r * 4 + j], want);
    }
  const int64_t *z = static_cast<int64_t *>(out[1].data);
  EXPECT_EQ(z[0], 14);
  EXPECT_EQ(z[1], -6);
}

TEST_F(RuntimeABI, WritesIntoCallerBuffers) {
  float y[8];
  int64_t z[2];
  out[0].data = y;
  out[0].capacity = sizeof(y);
  out[1].data = z;
  out[1].capacity = sizeof(z);
  callerOwned = true;
  ASSERT_EQ(run(), SINTER_OK) << err.message;
  EXPECT_EQ(out[0].data, y);
  EXPECT_EQ(z[0], 14);
}

TEST_F(RuntimeABI, CallerBufferTooSmall) {
  float y[2];
  out[0].data = y;
  out[0].capacity = sizeof(y);
  EXPECT_EQ(run(), SINTER_ERR_CAPACITY);
  EXPECT_NE(std::strstr(err.message, "'y'"), nullptr) << err.message;
  out[0].data = nullptr; // not ours to free
}

TEST_F(RuntimeABI, NullArrays) {
  EXPECT_EQ(model->run(nullptr, 2, out, 2, &err), SINTER_ERR_NULL);
  EXPECT_EQ(model->run(in, 2, nullptr, 2, &err), SINTER_ERR_NULL);
  EXPECT_EQ(model->run(nullptr, 2, nullptr, 2, nullptr), SINTER_ERR_NULL);
}

TEST_F(RuntimeABI, WrongCounts) {
  EXPECT_EQ(model->run(in, 1, out, 2, &err), SINTER_ERR_COUNT);
  EXPECT_EQ(model->run(in, 2, out, 3, &err), SINTER_ERR_COUNT);
}

TEST_F(RuntimeABI, WrongDtype) {
  in[1].dtype = SINTER_INT32;
  EXPECT_EQ(run(), SINTER_ERR_DTYPE);
  EXPECT_NE(std::strstr(err.message, "'ids'"), nullptr) << err.message;
}

TEST_F(RuntimeABI, WrongRank) {
  in[0].rank = 3;
  EXPECT_EQ(run(), SINTER_ERR_RANK);
  EXPECT_NE(std::strstr(err.message, "'x'"), nullptr) << err.message;
}

TEST_F(RuntimeABI, WrongStaticDim) {
  in[0].shape[1] = 5;
  EXPECT_EQ(run(), SINTER_ERR_SHAPE);
  EXPECT_NE(std::strstr(err.message, "dimension 1 is 5"), nullptr) << err.message;
}

TEST_F(RuntimeABI, NegativeDim) {
  in[0].shape[0] = -2;
  EXPECT_EQ(run(), SINTER_ERR_SHAPE);
}

TEST_F(RuntimeABI, SymbolicDimMustAgree) {
  in[1].shape[0] = 3;
  EXPECT_EQ(run(), SINTER_ERR_SHAPE);
  EXPECT_NE(std::strstr(err.message, "'batch'"), nullptr) << err.message;
}

TEST_F(RuntimeABI, NullData) {
  in[0].data = nullptr;
  EXPECT_EQ(run(), SINTER_ERR_NULL);
}

TEST_F(RuntimeABI, ZeroBatchIsValid) {
  in[0].shape[0] = 0;
  in[1].shape[0] = 0;
  ASSERT_EQ(run(), SINTER_OK) << err.message;
  EXPECT_EQ(out[0].shape[0], 0);
}

TEST_F(RuntimeABI, ConcurrentRunsAgree) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        float xs[6];
        int64_t is[2] = {t, i};
        for (int k = 0; k < 6; ++k)
          xs[k] = t + k;
        sinter_tensor ti[2] = {in[0], in[1]}, to[2] = {};
        ti[0].data = xs;
        ti[1].data = is;
        sinter_error e;
        if (model->run(ti, 2, to, 2, &e) != SINTER_OK ||
            static_cast<int64_t *>(to[1].data)[1] != 2 * i)
          ++failures;
        for (auto &o : to)
          model->free_output(o.data);
      }
    });
  for (auto &th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);
}

// The threads of this process. An exiting thread can stay listed for a
// moment after it has been joined, so a lower count is waited for.
size_t threadCount(size_t atMost = SIZE_MAX) {
  size_t n = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    n = 0;
    for (const auto &e : std::filesystem::directory_iterator("/proc/self/task"))
      n += e.is_directory() ? 1 : 0;
    if (n <= atMost)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return n;
}

// Unloading an object must stop its workers: left running, they would
// execute unmapped code (this crashed a test process at exit once).
TEST_F(RuntimeABI, UnloadJoinsTheWorkerThreads) {
  // A private copy, so that this dlopen maps (and dlclose unmaps) its own
  // instance rather than sharing the fixture's.
  std::string copy = soPath + ".unload.so";
  std::filesystem::copy_file(soPath, copy, std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(setenv("SINTER_NUM_THREADS", "3", 1), 0);
  size_t before = threadCount();
  void *h = dlopen(copy.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  auto getter = reinterpret_cast<const sinter_model *(*)()>(dlsym(h, "linear_model"));
  ASSERT_NE(getter, nullptr);
  EXPECT_EQ(getter()->set_num_threads(0), 3); // starts the pool: two workers
  EXPECT_EQ(threadCount(), before + 2);
  ASSERT_EQ(dlclose(h), 0);
  EXPECT_EQ(threadCount(before), before);
  unsetenv("SINTER_NUM_THREADS");
  std::filesystem::remove(copy);
}

// The scheduler states ('R' running or runnable, 'S' sleeping, ...) of the
// threads that are not in `known`.
std::vector<char> newThreadStates(const std::set<std::string> &known) {
  std::vector<char> states;
  for (const auto &e : std::filesystem::directory_iterator("/proc/self/task")) {
    if (known.count(e.path().filename()))
      continue;
    std::ifstream stat(e.path() / "stat");
    std::string line((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    size_t close = line.rfind(')'); // the name may hold spaces
    if (close != std::string::npos && close + 2 < line.size())
      states.push_back(line[close + 2]);
  }
  return states;
}

std::set<std::string> threadIds() {
  std::set<std::string> ids;
  for (const auto &e : std::filesystem::directory_iterator("/proc/self/task"))
    ids.insert(e.path().filename());
  return ids;
}

// SINTER_SPIN_US bounds how long an idle worker spins before it sleeps: 0
// puts it to sleep at once; a long bound keeps it runnable.
TEST_F(RuntimeABI, IdleWorkersSpinForSinterSpinUs) {
  for (const char *spin : {"0", "5000000"}) {
    std::string copy = soPath + ".spin" + spin + ".so";
    std::filesystem::copy_file(soPath, copy, std::filesystem::copy_options::overwrite_existing);
    ASSERT_EQ(setenv("SINTER_NUM_THREADS", "2", 1), 0);
    ASSERT_EQ(setenv("SINTER_SPIN_US", spin, 1), 0);
    std::set<std::string> before = threadIds();
    void *h = dlopen(copy.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(h, nullptr) << dlerror();
    auto getter = reinterpret_cast<const sinter_model *(*)()>(dlsym(h, "linear_model"));
    ASSERT_NE(getter, nullptr);
    EXPECT_EQ(getter()->set_num_threads(0), 2); // starts the pool: one worker
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::vector<char> states = newThreadStates(before);
    ASSERT_EQ(states.size(), 1u);
    EXPECT_EQ(states[0], std::string(spin) == "0" ? 'S' : 'R') << "SINTER_SPIN_US=" << spin;
    ASSERT_EQ(dlclose(h), 0); // wakes the worker, spinning or asleep, and joins it
    EXPECT_EQ(threadCount(before.size()), before.size());
    std::filesystem::remove(copy);
  }
  unsetenv("SINTER_NUM_THREADS");
  unsetenv("SINTER_SPIN_US");
}

} // namespace
