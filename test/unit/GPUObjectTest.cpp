// The host side of objects compiled for the GPU target, without a GPU: the
// object against no driver at all (a clear error), and against a stand-in
// driver (FakeCudaDriver.c) that checks how the object calls it: one module
// load, a launch per gpu.launch_func, constants and buffers allocated once
// and reused, streams closed, and errors (no device, a device too old, a
// failed launch, a bad ordinal) reported as SINTER_ERR_DEVICE with the
// run's outputs withheld. What the kernels compute is tested on a GPU
// (python/tests/test_gpu.py).
#include "TestModels.h"

#include "sinter/runtime/sinter.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;

/// Compiles a test model (the linear one by default) in this process's
/// directory; `flags` picks the target.
std::string compile(const std::string &tag, const std::string &flags, int64_t *launches = nullptr,
                    std::string *format = nullptr, const onnx::ModelProto &model = sinter::test::linearModel()) {
  std::string dir = ::testing::TempDir() + "/gpu_object_" + std::to_string(getpid());
  fs::create_directories(dir);
  std::string onnx = dir + "/" + tag + ".onnx", so = dir + "/" + tag + ".so", report = dir + "/" + tag + ".json";
  std::ofstream(onnx, std::ios::binary) << sinter::test::serialize(model);
  std::string cmd = std::string(SINTER_BIN_DIR) + "/sinter-compile " + onnx + " -o " + so +
                    " --name=linear_model --report=" + report + " " + flags;
  if (std::system(cmd.c_str()) != 0)
    return "";
  nlohmann::json j = nlohmann::json::parse(std::ifstream(report));
  if (launches)
    *launches = j.value("gpu_kernel_launches", -1);
  if (format && j.contains("gpu_image"))
    *format = j["gpu_image"]["format"];
  return so;
}

/// A fresh copy of `so`, loaded: its own driver state, device choice and
/// caches, whatever other tests in this process did.
const sinter_model *loadCopy(const std::string &so, void **handle) {
  static int copies = 0;
  std::string copy = so + "." + std::to_string(copies++) + ".so";
  fs::copy_file(so, copy, fs::copy_options::overwrite_existing);
  *handle = dlopen(copy.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!*handle)
    return nullptr;
  auto getter = reinterpret_cast<const sinter_model *(*)()>(dlsym(*handle, "linear_model"));
  return getter ? getter() : nullptr;
}

class GPUObject : public ::testing::Test {
protected:
  static void SetUpTestSuite() { so = compile("ptx", "--target=nvptx64-nvidia-cuda --mcpu=sm_90 --cuda-path=none", &launches); }

  void SetUp() override {
    ASSERT_FALSE(so.empty()) << "sinter-compile failed for the GPU target";
    std::memset(in, 0, sizeof(in));
    std::memset(out, 0, sizeof(out));
    in[0] = {x, SINTER_FLOAT32, 2, {2, 3}, 0};
    in[1] = {ids, SINTER_INT64, 1, {2}, 0};
  }
  void TearDown() override {
    for (const char *v : {"FAKE_CUDA_DEVICES", "FAKE_CUDA_SM", "FAKE_CUDA_FAIL_LAUNCH"})
      unsetenv(v);
    if (model)
      for (auto &o : out)
        if (o.data)
          model->free_output(o.data);
  }

  /// Loads the stand-in driver as libcuda.so.1, then a copy of the object.
  void loadWithFakeDriver() {
    driver = dlopen(SINTER_FAKE_CUDA_DRIVER, RTLD_NOW | RTLD_GLOBAL);
    ASSERT_NE(driver, nullptr) << dlerror();
    model = loadCopy(so, &object);
    ASSERT_NE(model, nullptr) << dlerror();
  }
  template <typename T> T fake(const char *name) {
    auto fn = reinterpret_cast<T (*)()>(dlsym(driver, name));
    EXPECT_NE(fn, nullptr) << name;
    return fn ? fn() : T();
  }
  /// Frees the last outputs and runs again (the linear model's two inputs,
  /// or the first alone).
  int run(int32_t numInputs = 2) {
    for (auto &o : out) {
      if (o.data)
        model->free_output(o.data);
      std::memset(&o, 0, sizeof(o));
    }
    return model->run(in, numInputs, out, 2, &err);
  }

  static std::string so;
  static int64_t launches;
  void *driver = nullptr, *object = nullptr;
  const sinter_model *model = nullptr;
  float x[6] = {1, 2, 3, 4, 5, 6};
  int64_t ids[2] = {1, 0};
  sinter_tensor in[2], out[2];
  sinter_error err;
};
std::string GPUObject::so;
int64_t GPUObject::launches = 0;

TEST_F(GPUObject, WithoutADriverRunsFailWithAMessage) {
  if (void *real = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)) {
    dlclose(real);
    GTEST_SKIP() << "a CUDA driver (or the stand-in) is loadable here";
  }
  model = loadCopy(so, &object);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->device_kind, SINTER_DEVICE_CUDA);
  EXPECT_EQ(run(), SINTER_ERR_DEVICE);
  EXPECT_NE(std::strstr(err.message, "cannot load the CUDA driver libcuda.so.1"), nullptr) << err.message;
  EXPECT_EQ(out[0].data, nullptr);
  EXPECT_EQ(model->set_device(0, &err), SINTER_ERR_DEVICE);
  EXPECT_NE(std::strstr(err.message, "libcuda.so.1"), nullptr) << err.message;
}

TEST_F(GPUObject, RunsThroughTheDriver) {
  loadWithFakeDriver();
  ASSERT_GT(launches, 0);
  long launchesBefore = fake<long>("fake_cuda_launches");
  ASSERT_EQ(run(), SINTER_OK) << err.message;
  EXPECT_EQ(fake<long>("fake_cuda_launches") - launchesBefore, launches);
  long modules = fake<long>("fake_cuda_modules_loaded");
  EXPECT_GT(fake<int>("fake_cuda_kernels"), 0);
  // The outputs' shapes; their values are what no kernel wrote.
  EXPECT_EQ(out[0].rank, 2);
  EXPECT_EQ(out[0].shape[0], 2);
  EXPECT_EQ(out[0].shape[1], 4);
  EXPECT_NE(out[0].data, nullptr);
  // Later runs reuse the constants' copies and the buffers.
  ASSERT_EQ(run(), SINTER_OK) << err.message;
  long allocs = fake<long>("fake_cuda_allocs");
  int live = fake<int>("fake_cuda_live_allocations");
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(run(), SINTER_OK) << err.message;
  EXPECT_EQ(fake<long>("fake_cuda_allocs"), allocs);
  EXPECT_EQ(fake<int>("fake_cuda_live_allocations"), live);
  EXPECT_EQ(fake<long>("fake_cuda_modules_loaded"), modules); // loaded once
  EXPECT_EQ(fake<int>("fake_cuda_open_streams"), 0);
  EXPECT_STREQ(fake<const char *>("fake_cuda_problem"), "");
}

TEST_F(GPUObject, OutputsIntoCallerBuffers) {
  loadWithFakeDriver();
  float y[8];
  int64_t z[2];
  out[0] = {y, 0, 0, {0}, sizeof(y)};
  out[1] = {z, 0, 0, {0}, sizeof(z)};
  EXPECT_EQ(model->run(in, 2, out, 2, &err), SINTER_OK) << err.message;
  EXPECT_EQ(out[0].data, y);
  std::memset(out, 0, sizeof(out));
}

TEST_F(GPUObject, NoDevice) {
  setenv("FAKE_CUDA_DEVICES", "0", 1);
  loadWithFakeDriver();
  EXPECT_EQ(run(), SINTER_ERR_DEVICE);
  EXPECT_NE(std::strstr(err.message, "no CUDA device"), nullptr) << err.message;
  EXPECT_EQ(out[0].data, nullptr);
}

TEST_F(GPUObject, DeviceTooOldForTheKernels) {
  setenv("FAKE_CUDA_SM", "75", 1);
  loadWithFakeDriver();
  EXPECT_EQ(run(), SINTER_ERR_DEVICE);
  EXPECT_NE(std::strstr(err.message, "CUDA device 0 is sm_75; the object's kernels need sm_90 or newer"), nullptr)
      << err.message;
}

TEST_F(GPUObject, SelectsADevice) {
  setenv("FAKE_CUDA_DEVICES", "2", 1);
  loadWithFakeDriver();
  EXPECT_EQ(model->set_device(1, &err), SINTER_OK) << err.message;
  EXPECT_EQ(run(), SINTER_OK) << err.message;
  EXPECT_EQ(model->set_device(2, &err), SINTER_ERR_DEVICE);
  EXPECT_NE(std::strstr(err.message, "CUDA device 2 does not exist on this machine"), nullptr) << err.message;
  EXPECT_EQ(model->set_device(-1, &err), SINTER_ERR_DEVICE);
  EXPECT_EQ(run(), SINTER_OK) << err.message; // still on device 1
}

TEST_F(GPUObject, AFailedLaunchWithholdsTheOutputs) {
  loadWithFakeDriver();
  ASSERT_EQ(run(), SINTER_OK) << err.message;
  int live = fake<int>("fake_cuda_live_allocations");
  setenv("FAKE_CUDA_FAIL_LAUNCH", std::to_string(fake<long>("fake_cuda_launches")).c_str(), 1);
  EXPECT_EQ(run(), SINTER_ERR_DEVICE);
  EXPECT_NE(std::strstr(err.message, "CUDA_ERROR_LAUNCH_FAILED in kernel main_graph_kernel"), nullptr)
      << err.message;
  EXPECT_EQ(out[0].data, nullptr);
  EXPECT_EQ(out[1].data, nullptr);
  // The next run is unaffected, and nothing leaked.
  unsetenv("FAKE_CUDA_FAIL_LAUNCH");
  EXPECT_EQ(run(), SINTER_OK) << err.message;
  EXPECT_EQ(fake<int>("fake_cuda_live_allocations"), live);
  EXPECT_EQ(fake<int>("fake_cuda_open_streams"), 0);
}

TEST_F(GPUObject, ArgumentsAreCheckedBeforeTheDevice) {
  setenv("FAKE_CUDA_DEVICES", "0", 1);
  loadWithFakeDriver();
  long launches = fake<long>("fake_cuda_launches");
  in[1].shape[0] = 3; // "batch" is 2 in x
  EXPECT_EQ(run(), SINTER_ERR_SHAPE);
  in[1].shape[0] = 2;
  in[1].dtype = SINTER_FLOAT32;
  EXPECT_EQ(run(), SINTER_ERR_DTYPE);
  EXPECT_EQ(fake<long>("fake_cuda_launches"), launches);
}

TEST_F(GPUObject, StartsNoThreadPool) {
  loadWithFakeDriver();
  EXPECT_EQ(model->set_num_threads(0), 1);
  EXPECT_EQ(model->set_num_threads(4), 1);
}

// One buffer returned as two outputs is copied to host memory for each;
// free_output takes those copies as it takes managed buffers.
TEST_F(GPUObject, SharedOutputsAreCopiedOut) {
  std::string shared = compile("shared", "--target=nvptx64-nvidia-cuda --mcpu=sm_90 --cuda-path=none", nullptr,
                               nullptr, sinter::test::sharedOutputModel());
  ASSERT_FALSE(shared.empty());
  driver = dlopen(SINTER_FAKE_CUDA_DRIVER, RTLD_NOW | RTLD_GLOBAL);
  ASSERT_NE(driver, nullptr) << dlerror();
  model = loadCopy(shared, &object);
  ASSERT_NE(model, nullptr);
  ASSERT_EQ(run(1), SINTER_OK) << err.message;
  EXPECT_NE(out[0].data, nullptr);
  EXPECT_NE(out[1].data, nullptr);
  EXPECT_NE(out[0].data, out[1].data);
  int live = fake<int>("fake_cuda_live_allocations");
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(run(1), SINTER_OK) << err.message;
  EXPECT_EQ(fake<int>("fake_cuda_live_allocations"), live);
}

TEST(GPUObjectImage, FatbinWhereTheToolkitIsPresent) {
  std::string format;
  std::string so = compile("fatbin", "--target=nvptx64-nvidia-cuda --mcpu=sm_90", nullptr, &format);
  ASSERT_FALSE(so.empty());
  if (format != "fatbin")
    GTEST_SKIP() << "no CUDA toolkit (ptxas, fatbinary): the object carries PTX only";
  void *driver = dlopen(SINTER_FAKE_CUDA_DRIVER, RTLD_NOW | RTLD_GLOBAL), *object = nullptr;
  ASSERT_NE(driver, nullptr) << dlerror();
  const sinter_model *model = loadCopy(so, &object);
  ASSERT_NE(model, nullptr);
  float x[6] = {1, 2, 3, 4, 5, 6};
  int64_t ids[2] = {1, 0};
  sinter_tensor in[2] = {{x, SINTER_FLOAT32, 2, {2, 3}, 0}, {ids, SINTER_INT64, 1, {2}, 0}}, out[2] = {};
  sinter_error err;
  ASSERT_EQ(model->run(in, 2, out, 2, &err), SINTER_OK) << err.message;
  for (auto &o : out)
    model->free_output(o.data);
}

TEST(CPUObjectDevice, OnlyDeviceZero) {
  std::string so = compile("cpu", "");
  ASSERT_FALSE(so.empty());
  void *object = nullptr;
  const sinter_model *model = loadCopy(so, &object);
  ASSERT_NE(model, nullptr);
  sinter_error err;
  EXPECT_EQ(model->device_kind, SINTER_DEVICE_CPU);
  EXPECT_EQ(model->set_device(0, &err), SINTER_OK);
  EXPECT_EQ(model->set_device(1, &err), SINTER_ERR_DEVICE);
  EXPECT_NE(std::strstr(err.message, "runs on the CPU"), nullptr) << err.message;
}

} // namespace
