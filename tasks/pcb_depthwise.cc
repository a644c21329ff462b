// pcb_depthwise_conv: depthwise 2-D convolution on the CPU, float32 NCHW, square kernel, one stride and one zero
// padding for both axes, no dilation; forward, and input and weight gradients in one backward pass.
// Each output row gathers its k² taps from a zero-bordered copy of the input plane in loops the compiler vectorizes.
#include <algorithm>
#include <vector>

#include "paddle/extension.h"

namespace {

int OutSize(int in, int kernel, int stride, int pad) { return (in + 2 * pad - kernel) / stride + 1; }

void CheckInputs(const paddle::Tensor& x, const paddle::Tensor& w) {
  PD_CHECK(x.is_cpu() && x.dtype() == paddle::DataType::FLOAT32, "pcb_depthwise_conv takes float32 CPU tensors");
  PD_CHECK(w.shape()[0] == x.shape()[1] && w.shape()[1] == 1 && w.shape()[2] == w.shape()[3],
           "pcb_depthwise_conv takes a [channels, 1, k, k] weight");
}

// One image plane and its shapes; `padded` is a zero-bordered copy of the input plane, so no loop tests borders.
struct Plane {
  int height, width, out_h, out_w, k, pad, padded_w;
  std::vector<float> padded;

  Plane(int height, int width, int k, int stride, int pad)
      : height(height), width(width), out_h(OutSize(height, k, stride, pad)), out_w(OutSize(width, k, stride, pad)),
        k(k), pad(pad), padded_w(width + 2 * pad), padded(static_cast<size_t>(height + 2 * pad) * padded_w, 0.f) {}

  void Load(const float* in) {
    for (int y = 0; y < height; ++y) {
      std::copy(in + static_cast<size_t>(y) * width, in + static_cast<size_t>(y + 1) * width,
                padded.begin() + static_cast<size_t>(y + pad) * padded_w + pad);
    }
  }
};

// The row loops, on restrict pointers so that the compiler vectorizes them: out[i] += tap * in[i * kStride] ...
template <int kStride>
void AddScaled(float* __restrict__ out, const float* __restrict__ in, float tap, int n) {
  for (int i = 0; i < n; ++i) out[i] += tap * in[i * kStride];
}

// ... and the sum of a[i] * b[i].
float Dot(const float* __restrict__ a, const float* __restrict__ b, int n) {
  float sum = 0.f;
#pragma omp simd reduction(+ : sum)
  for (int i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

template <int kStride>
void ForwardPlane(Plane& plane, const float* in, const float* taps, float* out) {
  plane.Load(in);
  const int k = plane.k, out_w = plane.out_w, padded_w = plane.padded_w;
  for (int oy = 0; oy < plane.out_h; ++oy) {
    float* out_row = out + static_cast<size_t>(oy) * out_w;
    std::fill(out_row, out_row + out_w, 0.f);
    for (int ky = 0; ky < k; ++ky) {
      const float* row = plane.padded.data() + static_cast<size_t>(oy * kStride + ky) * padded_w;
      for (int kx = 0; kx < k; ++kx) AddScaled<kStride>(out_row, row + kx, taps[ky * k + kx], out_w);
    }
  }
}

// Adds this plane's weight gradient to grad_taps and writes its input gradient. With stride 2 each gradient row is
// first spread over the input columns it came from (zeros between), so every loop runs over contiguous memory.
void BackwardPlane(Plane& plane, int stride, std::vector<float>& grad_padded, std::vector<float>& spread,
                   const float* in, const float* taps, const float* grad_out, float* grad_taps, float* grad_in) {
  plane.Load(in);
  std::fill(grad_padded.begin(), grad_padded.end(), 0.f);
  const int k = plane.k, out_w = plane.out_w, padded_w = plane.padded_w, n = stride * (out_w - 1) + 1;
  for (int oy = 0; oy < plane.out_h; ++oy) {
    const float* g_row = grad_out + static_cast<size_t>(oy) * out_w;
    if (stride > 1) {
      for (int ox = 0; ox < out_w; ++ox) spread[static_cast<size_t>(ox) * stride] = g_row[ox];
      g_row = spread.data();
    }
    for (int ky = 0; ky < k; ++ky) {
      const size_t offset = static_cast<size_t>(oy * stride + ky) * padded_w;
      for (int kx = 0; kx < k; ++kx) {
        grad_taps[ky * k + kx] += Dot(g_row, plane.padded.data() + offset + kx, n);
        AddScaled<1>(grad_padded.data() + offset + kx, g_row, taps[ky * k + kx], n);
      }
    }
  }
  for (int y = 0; y < plane.height; ++y) {
    const float* src = grad_padded.data() + static_cast<size_t>(y + plane.pad) * padded_w + plane.pad;
    std::copy(src, src + plane.width, grad_in + static_cast<size_t>(y) * plane.width);
  }
}

std::vector<paddle::Tensor> Forward(const paddle::Tensor& x, const paddle::Tensor& w, int stride, int pad) {
  CheckInputs(x, w);
  PD_CHECK(stride == 1 || stride == 2, "pcb_depthwise_conv takes stride 1 or 2");
  const int channels = x.shape()[1], planes = x.shape()[0] * channels, k = w.shape()[2];
  Plane plane(x.shape()[2], x.shape()[3], k, stride, pad);
  auto out = paddle::empty({x.shape()[0], channels, plane.out_h, plane.out_w}, x.dtype(), x.place());
  const paddle::Tensor x_dense = x.contiguous();
  const size_t in_size = static_cast<size_t>(plane.height) * plane.width;
  const size_t out_size = static_cast<size_t>(plane.out_h) * plane.out_w;
  const float* input = x_dense.data<float>();
  const float* weight = w.data<float>();
  float* output = out.data<float>();
  for (int i = 0; i < planes; ++i) {
    const float* in = input + i * in_size;
    const float* taps = weight + static_cast<size_t>(i % channels) * k * k;
    float* o = output + i * out_size;
    stride == 1 ? ForwardPlane<1>(plane, in, taps, o) : ForwardPlane<2>(plane, in, taps, o);
  }
  return {out};
}

std::vector<paddle::Tensor> Backward(const paddle::Tensor& x, const paddle::Tensor& w, const paddle::Tensor& grad_out,
                                     int stride, int pad) {
  CheckInputs(x, w);
  const int channels = x.shape()[1], planes = x.shape()[0] * channels, k = w.shape()[2];
  Plane plane(x.shape()[2], x.shape()[3], k, stride, pad);
  std::vector<float> grad_padded(plane.padded.size()), spread(static_cast<size_t>(stride) * plane.out_w, 0.f);
  auto grad_x = paddle::empty(x.shape(), x.dtype(), x.place());
  auto grad_w = paddle::zeros(w.shape(), w.dtype(), w.place());
  const paddle::Tensor x_dense = x.contiguous(), grad_dense = grad_out.contiguous();
  const size_t in_size = static_cast<size_t>(plane.height) * plane.width;
  const size_t out_size = static_cast<size_t>(plane.out_h) * plane.out_w;
  const float* input = x_dense.data<float>();
  const float* grad = grad_dense.data<float>();
  const float* weight = w.data<float>();
  float* grad_input = grad_x.data<float>();
  float* grad_weight = grad_w.data<float>();
  for (int i = 0; i < planes; ++i) {
    const size_t c = static_cast<size_t>(i % channels) * k * k;
    const float* in = input + i * in_size;
    const float* g = grad + i * out_size;
    float* grad_in = grad_input + i * in_size;
    const float* taps = weight + c;
    float* grad_taps = grad_weight + c;
    BackwardPlane(plane, stride, grad_padded, spread, in, taps, g, grad_taps, grad_in);
  }
  return {grad_x, grad_w};
}

std::vector<std::vector<int64_t>> ForwardShape(const std::vector<int64_t>& x, const std::vector<int64_t>& w, int stride,
                                               int pad) {
  const int k = static_cast<int>(w[2]);
  return {{x[0], x[1], OutSize(static_cast<int>(x[2]), k, stride, pad), OutSize(static_cast<int>(x[3]), k, stride, pad)}};
}

std::vector<paddle::DataType> ForwardDtype(const paddle::DataType& x, const paddle::DataType& w) { return {x}; }

std::vector<std::vector<int64_t>> BackwardShape(const std::vector<int64_t>& x, const std::vector<int64_t>& w,
                                                const std::vector<int64_t>& grad_out, int stride, int pad) {
  return {x, w};
}

std::vector<paddle::DataType> BackwardDtype(const paddle::DataType& x, const paddle::DataType& w,
                                            const paddle::DataType& grad_out) {
  return {x, w};
}

}  // namespace

PD_BUILD_OP(pcb_depthwise_conv)
    .Inputs({"X", "W"})
    .Outputs({"Out"})
    .Attrs({"stride: int", "pad: int"})
    .SetKernelFn(PD_KERNEL(Forward))
    .SetInferShapeFn(PD_INFER_SHAPE(ForwardShape))
    .SetInferDtypeFn(PD_INFER_DTYPE(ForwardDtype));

PD_BUILD_GRAD_OP(pcb_depthwise_conv)
    .Inputs({"X", "W", paddle::Grad("Out")})
    .Outputs({paddle::Grad("X"), paddle::Grad("W")})
    .Attrs({"stride: int", "pad: int"})
    .SetKernelFn(PD_KERNEL(Backward))
    .SetInferShapeFn(PD_INFER_SHAPE(BackwardShape))
    .SetInferDtypeFn(PD_INFER_DTYPE(BackwardDtype));
