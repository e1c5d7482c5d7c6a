#include "sinter/Compression/Profile.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <fstream>

namespace sinter {

const LayerProfile *Profile::find(llvm::StringRef name) const {
  for (const LayerProfile &l : layers)
    if (l.name == name)
      return &l;
  return nullptr;
}

void computeQuantiles(std::vector<float> &samples, int64_t levels, float *out) {
  std::sort(samples.begin(), samples.end());
  int64_t n = samples.size();
  for (int64_t j = 0; j < levels; ++j) {
    if (n == 0) {
      out[j] = 0;
      continue;
    }
    double pos = (double)j / (levels - 1) * (n - 1);
    int64_t lo = (int64_t)pos;
    int64_t hi = std::min(lo + 1, n - 1);
    double frac = pos - lo;
    out[j] = (float)(samples[lo] + frac * ((double)samples[hi] - samples[lo]));
  }
}

bool writeProfile(const Profile &profile, llvm::StringRef path, std::string &error) {
  nlohmann::json j;
  j["format"] = "sinter-profile";
  j["version"] = Profile::kVersion;
  j["source"] = profile.source;
  j["tokens"] = profile.tokens;
  j["levels"] = profile.levels;
  if (!profile.scoreMethod.empty())
    j["score_method"] = profile.scoreMethod;
  j["layers"] = nlohmann::json::array();
  for (const LayerProfile &l : profile.layers) {
    nlohmann::json layer = {{"name", l.name},         {"activation", l.activation}, {"neurons", l.neurons},
                            {"samples", l.samples},   {"mean", l.mean},             {"quantiles", l.quantiles}};
    if (l.gated)
      layer["gated"] = true;
    for (auto [key, values] : {std::pair("magnitude", &l.magnitude), std::pair("magnitude_quantiles", &l.magnitudeQuantiles),
                               std::pair("score", &l.score)})
      if (!values->empty())
        layer[key] = *values;
    if (l.predictor.rank > 0) {
      const LayerProfile::Predictor &pr = l.predictor;
      layer["predictor"] = {{"rank", pr.rank}, {"input_width", pr.inputWidth}, {"in", pr.in},   {"out", pr.out},
                            {"bias", pr.bias}, {"label_sparsity", pr.labelSparsity}, {"recall", pr.recall}};
    }
    if (l.inputWidth > 0) {
      layer["input_width"] = l.inputWidth;
      layer["inputs"] = l.inputs;
    }
    j["layers"].push_back(layer);
  }
  std::ofstream out(path.str());
  if (!out) {
    error = "cannot write profile '" + path.str() + "'";
    return false;
  }
  out << j.dump() << "\n";
  return static_cast<bool>(out);
}

std::optional<Profile> readProfile(llvm::StringRef path, std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer) {
    error = "cannot read profile '" + path.str() + "': " + buffer.getError().message();
    return std::nullopt;
  }
  return parseProfile((*buffer)->getBuffer(), path, error);
}

namespace {
/// A JSON array of numbers as f32, refusing what f32 cannot hold (a value
/// that overflows would be written back as null).
struct Floats : std::vector<float> {};

void from_json(const nlohmann::json &j, Floats &out) {
  if (!j.is_array())
    throw std::domain_error("expected an array of numbers, got " + std::string(j.type_name()));
  for (const auto &v : j) {
    float f = v.get<float>();
    if (!std::isfinite(f))
      throw std::domain_error("a value that is not a finite f32: " + v.dump());
    out.push_back(f);
  }
}
} // namespace

std::optional<Profile> parseProfile(llvm::StringRef text, llvm::StringRef path, std::string &error) {
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string &why) {
    error = "profile '" + path.str() + "': " + why;
    return std::nullopt;
  };
  if (j.is_discarded() || !j.is_object())
    return bad("not JSON");
  try {
    if (!j.contains("format") || j["format"] != "sinter-profile" || !j.contains("version") ||
        !j["version"].is_number_integer())
      return bad("not a Sinter profile");
    if (j["version"].get<int64_t>() != Profile::kVersion)
      return bad("version " + std::to_string(j["version"].get<int64_t>()) + " (this compiler reads " +
                 std::to_string(Profile::kVersion) + ")");
    Profile p;
    p.source = j.at("source").get<std::string>();
    p.tokens = j.at("tokens").get<int64_t>();
    p.levels = j.at("levels").get<int64_t>();
    if (j.contains("score_method"))
      p.scoreMethod = j["score_method"].get<std::string>();
    if (p.levels < 3 || p.levels > 100001)
      return bad("levels must be 3..100001");
    for (const auto &l : j.at("layers")) {
      LayerProfile layer;
      layer.name = l.at("name").get<std::string>();
      layer.activation = l.at("activation").get<std::string>();
      layer.neurons = l.at("neurons").get<int64_t>();
      layer.samples = l.at("samples").get<int64_t>();
      layer.mean = l.at("mean").get<Floats>();
      layer.quantiles = l.at("quantiles").get<Floats>();
      if (layer.neurons <= 0 || layer.neurons != (int64_t)layer.mean.size())
        return bad("layer '" + layer.name + "' has arrays of the wrong length");
      if (l.contains("gated"))
        layer.gated = l["gated"].get<bool>();
      auto optional = [&](const char *key, std::vector<float> &out, int64_t length) {
        if (!l.contains(key))
          return true;
        out = l[key].get<Floats>();
        return (int64_t)out.size() == length;
      };
      if (!optional("magnitude", layer.magnitude, layer.neurons) ||
          !optional("magnitude_quantiles", layer.magnitudeQuantiles, p.levels) ||
          !optional("score", layer.score, layer.neurons))
        return bad("layer '" + layer.name + "' has a magnitude, magnitude_quantiles or score of the wrong length");
      if (l.contains("predictor")) {
        const auto &pj = l["predictor"];
        LayerProfile::Predictor &pr = layer.predictor;
        pr.rank = pj.at("rank").get<int64_t>();
        pr.inputWidth = pj.at("input_width").get<int64_t>();
        pr.in = pj.at("in").get<Floats>();
        pr.out = pj.at("out").get<Floats>();
        pr.bias = pj.at("bias").get<Floats>();
        pr.labelSparsity = pj.value("label_sparsity", 0.0);
        pr.recall = pj.value("recall", -1.0);
        if (pr.rank <= 0 || pr.inputWidth <= 0 || pr.rank > (int64_t)1 << 20 || pr.inputWidth > (int64_t)1 << 24 ||
            (int64_t)pr.in.size() != pr.inputWidth * pr.rank || (int64_t)pr.out.size() != pr.rank * layer.neurons ||
            (int64_t)pr.bias.size() != layer.neurons)
          return bad("layer '" + layer.name + "' has a predictor whose arrays do not match its rank and widths");
      }
      if (!std::is_sorted(layer.magnitudeQuantiles.begin(), layer.magnitudeQuantiles.end()))
        return bad("layer '" + layer.name + "': magnitude_quantiles not ascending");
      if (l.contains("inputs")) {
        layer.inputWidth = l.at("input_width").get<int64_t>();
        layer.inputs = l.at("inputs").get<Floats>();
        if (layer.inputWidth <= 0 || layer.inputs.size() % layer.inputWidth != 0)
          return bad("layer '" + layer.name + "' has inputs that are not rows of input_width");
      }
      if (layer.neurons <= 0 || (int64_t)layer.mean.size() != layer.neurons ||
          (int64_t)layer.quantiles.size() % p.levels != 0 ||
          (int64_t)layer.quantiles.size() / p.levels != layer.neurons)
        return bad("layer '" + layer.name + "' has arrays of the wrong length");
      for (int64_t n = 0; n < layer.neurons; ++n)
        if (!std::is_sorted(layer.neuronQuantiles(n, p.levels), layer.neuronQuantiles(n, p.levels) + p.levels))
          return bad("layer '" + layer.name + "' neuron " + std::to_string(n) + ": quantiles not ascending");
      p.layers.push_back(std::move(layer));
    }
    return p;
  } catch (const nlohmann::json::exception &e) {
    return bad(std::string("malformed: ") + e.what());
  } catch (const std::domain_error &e) {
    return bad(std::string("malformed: ") + e.what());
  }
}

} // namespace sinter
