/* A small environment plugin in C++, for the plugin tests (see td3d_env_plugin.h).
 *
 * "td3d-test-cart-cpp": a cart in the plane, a class with std::array state and a
 * std::mt19937_64 seeded by reset's seed. obs = [x, y, vx, vy]; actions: force in x within
 * [-2, 2] and in y within [-0.5, 0.5] (clipped); reward = -(x^2 + y^2); never terminal, so
 * episodes end at the 300-step limit. Its ARG "scale=S" scales the start position. Shows what
 * a C++ plugin needs: C linkage for the symbol (TD3D_ENV_PLUGIN_EXPORT) and no exception
 * crossing into td3d. */
#include "td3d_env_plugin.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <string>

namespace {

class Cart {
 public:
  explicit Cart(double scale) : scale_(scale) {}

  void reset(uint64_t seed, float *obs) {
    rng_.seed(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    state_ = {scale_ * u(rng_), scale_ * u(rng_), 0.0, 0.0};
    observe(obs);
  }

  void step(const float *action, float *next_obs, float *reward) {
    const double dt = 0.05;
    double fx = clip(action[0], -2.0, 2.0), fy = clip(action[1], -0.5, 0.5);
    state_[2] += fx * dt;
    state_[3] += fy * dt;
    state_[0] += state_[2] * dt;
    state_[1] += state_[3] * dt;
    observe(next_obs);
    *reward = static_cast<float>(-(state_[0] * state_[0] + state_[1] * state_[1]));
  }

 private:
  static double clip(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }
  void observe(float *obs) const {
    for (size_t i = 0; i < state_.size(); i++) obs[i] = static_cast<float>(state_[i]);
  }

  double scale_;
  std::array<double, 4> state_{};
  std::mt19937_64 rng_;
};

const float kLow[2] = {-2.0f, -0.5f};
const float kHigh[2] = {2.0f, 0.5f};

void *cart_create(const char *arg, char *err, size_t err_len) {
  try {
    double scale = 1.0;
    std::string a(arg);
    if (a.rfind("scale=", 0) == 0) scale = std::stod(a.substr(6));
    return new Cart(scale);
  } catch (const std::exception &ex) {
    std::snprintf(err, err_len, "bad argument '%s': %s", arg, ex.what());
    return nullptr;
  }
}

int cart_reset(void *h, uint64_t seed, float *obs) {
  try {
    static_cast<Cart *>(h)->reset(seed, obs);
    return TD3D_ENV_PLUGIN_OK;
  } catch (...) {
    return TD3D_ENV_PLUGIN_EFAIL;
  }
}

int cart_step(void *h, const float *action, float *next_obs, float *reward, int *terminal) {
  try {
    static_cast<Cart *>(h)->step(action, next_obs, reward);
    *terminal = 0;
    return TD3D_ENV_PLUGIN_OK;
  } catch (...) {
    return TD3D_ENV_PLUGIN_EFAIL;
  }
}

void cart_destroy(void *h) { delete static_cast<Cart *>(h); }

}  // namespace

TD3D_ENV_PLUGIN_EXPORT const td3d_env_plugin_t td3d_env_plugin_v1 = {
    TD3D_ENV_PLUGIN_ABI_VERSION, "td3d-test-cart-cpp", 4, 2, kLow, kHigh, 300,
    cart_create, cart_reset, cart_step, cart_destroy};
