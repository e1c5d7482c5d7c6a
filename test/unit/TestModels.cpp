#include "TestModels.h"

namespace sinter::test {

namespace {
void addInput(onnx::GraphProto *g, const std::string &name, int dtype,
              std::vector<std::string> dims) {
  auto *vi = g->add_input();
  vi->set_name(name);
  auto *tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(dtype);
  for (auto &d : dims) {
    auto *dim = tt->mutable_shape()->add_dim();
    if (std::isdigit((unsigned char)d[0]))
      dim->set_dim_value(std::stoll(d));
    else
      dim->set_dim_param(d);
  }
}
} // namespace

onnx::ModelProto linearModel() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto *op = m.add_opset_import();
  op->set_version(17);
  auto *g = m.mutable_graph();
  g->set_name("linear");
  addInput(g, "x", onnx::TensorProto::FLOAT, {"batch", "3"});
  addInput(g, "ids", onnx::TensorProto::INT64, {"batch"});
  auto *w = g->add_initializer();
  w->set_name("W");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(3);
  w->add_dims(4);
  for (int i = 0; i < 12; ++i)
    w->add_float_data(0.5f * i - 2.f);
  auto *b = g->add_initializer();
  b->set_name("b");
  b->set_data_type(onnx::TensorProto::FLOAT);
  b->add_dims(4);
  for (int i = 0; i < 4; ++i)
    b->add_float_data(i);
  auto *two = g->add_initializer();
  two->set_name("two");
  two->set_data_type(onnx::TensorProto::INT64);
  two->add_int64_data(2);
  auto node = [&](const char *type, std::vector<std::string> ins, const char *out) {
    auto *n = g->add_node();
    n->set_op_type(type);
    n->set_name(std::string(type) + "_" + out);
    for (auto &i : ins)
      n->add_input(i);
    n->add_output(out);
  };
  node("MatMul", {"x", "W"}, "xw");
  node("Add", {"xw", "b"}, "y");
  node("Mul", {"ids", "two"}, "z");
  g->add_output()->set_name("y");
  g->add_output()->set_name("z");
  return m;
}

onnx::ModelProto sharedOutputModel() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto *g = m.mutable_graph();
  g->set_name("shared_output");
  addInput(g, "x", onnx::TensorProto::FLOAT, {"batch", "3"});
  auto *add = g->add_node();
  add->set_op_type("Add");
  add->set_name("Add_y");
  add->add_input("x");
  add->add_input("x");
  add->add_output("y");
  auto *id = g->add_node();
  id->set_op_type("Identity");
  id->set_name("Identity_y2");
  id->add_input("y");
  id->add_output("y2");
  g->add_output()->set_name("y");
  g->add_output()->set_name("y2");
  return m;
}

std::string serialize(const onnx::ModelProto &m) {
  std::string s;
  m.SerializeToString(&s);
  return s;
}

} // namespace sinter::test
