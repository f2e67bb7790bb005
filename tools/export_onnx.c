/* The ONNX writer (`td3d export --format onnx`): the policy as an ONNX graph, serialized with
 * protobuf-c from td3d's own subset of ONNX's schema (proto/onnx_subset.proto).
 *
 * Graph, for layer sizes L[0..n-1]:
 *   obs [N, L0] -> Gemm(W0, b0, transB=1) -> Relu -> ... -> Gemm(W_{n-2}, b_{n-2}) -> Tanh
 *       -> Mul(action_half) -> Add(action_mid) -> action [N, L_{n-1}]
 * N is a named (dynamic) batch size. Initializers W_l (L[l+1], L[l]) are the policy file's
 * row-major weights as they are (Gemm's transB reads them as PyTorch's nn.Linear does), b_l
 * (L[l+1]), and the float32 mid and half that td3d computes from the bounds. IR version 7 with
 * opset 13 (ONNX 1.8 and every runtime since). Metadata: producer "td3d", env_id, layers. */
#include "export.h"

#include "onnx_subset.pb-c.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINEAR (POLICY_MAX_LAYERS - 1)
#define MAX_NODES (2 * MAX_LINEAR + 2)   /* Gemm and Relu per hidden layer, Gemm Tanh Mul Add */
#define MAX_INITS (2 * MAX_LINEAR + 2)   /* W_l, b_l, half, mid */
#define MAX_NAMES (4 * MAX_NODES + MAX_INITS)
#define NAME_LEN 32

/* Every message of the model, in one block on the caller's stack: nothing to free but the
 * mid/half arrays. Strings point into names[]; raw_data points into the policy (borrowed). */
typedef struct builder {
  char names[MAX_NAMES][NAME_LEN];
  size_t n_names;
  Onnx__NodeProto nodes[MAX_NODES];
  Onnx__NodeProto *node_ptrs[MAX_NODES];
  char *node_io[MAX_NODES][4];  /* up to 3 inputs, then the output */
  size_t n_nodes;
  Onnx__AttributeProto trans_b;
  Onnx__AttributeProto *gemm_attrs[1];
  Onnx__TensorProto inits[MAX_INITS];
  Onnx__TensorProto *init_ptrs[MAX_INITS];
  int64_t init_dims[MAX_INITS][2];
  size_t n_inits;
} builder_t;

/* A name kept in the builder's pool. The pool is sized for the largest graph, and names are
 * short fixed patterns, so neither can run out. */
static char *name(builder_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *name(builder_t *b, const char *fmt, ...) {
  char *s = b->names[b->n_names++];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s, NAME_LEN, fmt, ap);
  va_end(ap);
  return s;
}

/* Appends node op_type(in...) -> out; n_in inputs (2 or 3, or 1). */
static Onnx__NodeProto *add_node(builder_t *b, const char *op, char *node_name, char *out,
                                 size_t n_in, char *in0, char *in1, char *in2) {
  size_t i = b->n_nodes++;
  Onnx__NodeProto *n = &b->nodes[i];
  onnx__node_proto__init(n);
  char **io = b->node_io[i];
  io[0] = in0;
  io[1] = in1;
  io[2] = in2;
  io[3] = out;
  n->n_input = n_in;
  n->input = io;
  n->n_output = 1;
  n->output = &io[3];
  n->name = node_name;
  n->op_type = (char *)op;
  b->node_ptrs[i] = n;
  return n;
}

/* Appends a float32 initializer of shape dims[0..rank) over data (borrowed). */
static char *add_init(builder_t *b, char *init_name, const float *data, size_t rank,
                      size_t d0, size_t d1) {
  size_t i = b->n_inits++;
  Onnx__TensorProto *t = &b->inits[i];
  onnx__tensor_proto__init(t);
  b->init_dims[i][0] = (int64_t)d0;
  b->init_dims[i][1] = (int64_t)d1;
  t->n_dims = rank;
  t->dims = b->init_dims[i];
  t->has_data_type = 1;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  t->name = init_name;
  t->has_raw_data = 1;
  t->raw_data.len = (rank == 2 ? d0 * d1 : d0) * sizeof(float);
  t->raw_data.data = (uint8_t *)(uintptr_t)data; /* protobuf-c only reads it */
  b->init_ptrs[i] = t;
  return init_name;
}

/* A graph input or output: float tensor [N, dim] with N dynamic. The messages live in the
 * caller's *v. */
typedef struct value_info {
  Onnx__ValueInfoProto info;
  Onnx__TypeProto type;
  Onnx__TypeProto__Tensor tensor;
  Onnx__TensorShapeProto shape;
  Onnx__TensorShapeProto__Dimension dims[2];
  Onnx__TensorShapeProto__Dimension *dim_ptrs[2];
} value_info_t;

static void value_info_init(value_info_t *v, char *value_name, uint32_t dim) {
  onnx__value_info_proto__init(&v->info);
  onnx__type_proto__init(&v->type);
  onnx__type_proto__tensor__init(&v->tensor);
  onnx__tensor_shape_proto__init(&v->shape);
  for (int i = 0; i < 2; i++) {
    onnx__tensor_shape_proto__dimension__init(&v->dims[i]);
    v->dim_ptrs[i] = &v->dims[i];
  }
  v->dims[0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
  v->dims[0].dim_param = (char *)"N";
  v->dims[1].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
  v->dims[1].dim_value = dim;
  v->shape.n_dim = 2;
  v->shape.dim = v->dim_ptrs;
  v->tensor.has_elem_type = 1;
  v->tensor.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  v->tensor.shape = &v->shape;
  v->type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  v->type.tensor_type = &v->tensor;
  v->info.name = value_name;
  v->info.type = &v->type;
}

int export_onnx(const policy_file_t *p, const export_options_t *opt, binw_t *out,
                td3_err_t *err) {
  (void)opt;
  int rc = export_policy_check(p, err);
  if (rc) return rc;
  uint32_t nl = p->n_layers;
  uint32_t act = p->layers[nl - 1];
  builder_t *b = xcalloc(1, sizeof *b);
  float *mid = xmalloc(act * sizeof(float));
  float *half = xmalloc(act * sizeof(float));
  for (uint32_t j = 0; j < act; j++) { /* as nn_policy_new computes them */
    mid[j] = 0.5f * (p->action_high[j] + p->action_low[j]);
    half[j] = 0.5f * (p->action_high[j] - p->action_low[j]);
  }

  b->trans_b = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
  b->trans_b.name = (char *)"transB";
  b->trans_b.has_type = 1;
  b->trans_b.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  b->trans_b.has_i = 1;
  b->trans_b.i = 1;
  b->gemm_attrs[0] = &b->trans_b;

  char *x = name(b, "obs");
  size_t off = 0;
  for (uint32_t l = 0; l + 1 < nl; l++) {
    size_t in = p->layers[l], o = p->layers[l + 1];
    char *w = add_init(b, name(b, "W%u", l), p->params + off, 2, o, in);
    off += o * in;
    char *bias = add_init(b, name(b, "b%u", l), p->params + off, 1, o, 0);
    off += o;
    int last = l + 2 == nl;
    char *y = last ? name(b, "z") : name(b, "layer%u_linear", l);
    Onnx__NodeProto *g = add_node(b, "Gemm", name(b, "layer%u_gemm", l), y, 3, x, w, bias);
    g->n_attribute = 1;
    g->attribute = b->gemm_attrs;
    x = y;
    if (!last) {
      y = name(b, "layer%u_relu", l);
      add_node(b, "Relu", name(b, "layer%u_relu", l), y, 1, x, NULL, NULL);
      x = y;
    }
  }
  char *half_name = add_init(b, name(b, "action_half"), half, 1, act, 0);
  char *mid_name = add_init(b, name(b, "action_mid"), mid, 1, act, 0);
  char *th = name(b, "tanh");
  add_node(b, "Tanh", name(b, "tanh"), th, 1, x, NULL, NULL);
  char *scaled = name(b, "scaled");
  add_node(b, "Mul", name(b, "scale"), scaled, 2, th, half_name, NULL);
  char *action = name(b, "action");
  add_node(b, "Add", name(b, "shift"), action, 2, scaled, mid_name, NULL);

  value_info_t in_info, out_info;
  value_info_init(&in_info, name(b, "obs"), p->layers[0]);
  value_info_init(&out_info, action, act);
  Onnx__ValueInfoProto *inputs[1] = {&in_info.info}, *outputs[1] = {&out_info.info};

  char layers_text[POLICY_MAX_LAYERS * 11 + 1] = "";
  size_t used = 0;
  for (uint32_t l = 0; l < nl; l++)
    used += (size_t)snprintf(layers_text + used, sizeof layers_text - used, "%s%u", l ? "," : "",
                             p->layers[l]);
  char doc[1024];
  snprintf(doc, sizeof doc,
           "TD3 actor for %s exported by td3d %s: layers %s, ReLU hidden layers, action = "
           "action_mid + action_half * tanh(z), within the env's action bounds. Input obs "
           "[N, %u] float32, output action [N, %u] float32.",
           p->env_id, TD3D_VERSION, layers_text, p->layers[0], act);

  Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
  graph.n_node = b->n_nodes;
  graph.node = b->node_ptrs;
  graph.name = (char *)"td3d_policy";
  graph.n_initializer = b->n_inits;
  graph.initializer = b->init_ptrs;
  graph.doc_string = doc;
  graph.n_input = 1;
  graph.input = inputs;
  graph.n_output = 1;
  graph.output = outputs;

  Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  opset.domain = (char *)"";
  opset.has_version = 1;
  opset.version = EXPORT_ONNX_OPSET;
  Onnx__OperatorSetIdProto *opsets[1] = {&opset};

  Onnx__StringStringEntryProto meta[2] = {ONNX__STRING_STRING_ENTRY_PROTO__INIT,
                                          ONNX__STRING_STRING_ENTRY_PROTO__INIT};
  meta[0].key = (char *)"env_id";
  meta[0].value = (char *)p->env_id;
  meta[1].key = (char *)"layers";
  meta[1].value = layers_text;
  Onnx__StringStringEntryProto *meta_ptrs[2] = {&meta[0], &meta[1]};

  Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
  model.has_ir_version = 1;
  model.ir_version = EXPORT_ONNX_IR_VERSION;
  model.producer_name = (char *)"td3d";
  model.producer_version = (char *)TD3D_VERSION;
  model.doc_string = doc;
  model.graph = &graph;
  model.n_opset_import = 1;
  model.opset_import = opsets;
  model.n_metadata_props = 2;
  model.metadata_props = meta_ptrs;

  size_t n = onnx__model_proto__get_packed_size(&model);
  uint8_t *buf = xmalloc(n);
  onnx__model_proto__pack(&model, buf);
  binw_bytes(out, buf, n);
  free(buf);
  free(mid);
  free(half);
  free(b);
  return 0;
}
