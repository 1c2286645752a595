#include "ganpp/io/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>

#define STB_TRUETYPE_IMPLEMENTATION
#include <stb_truetype.h>

namespace ganpp {
namespace {

using RGB = std::array<uint8_t, 3>;
const RGB kPalette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189},
                        {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

// Text via stb_truetype and DejaVu Sans (Debian fonts-dejavu-core). Without the font, plots have no labels and
// one warning says so.
struct Font {
  std::vector<unsigned char> ttf;
  stbtt_fontinfo info{};
  bool ok = false;
  Font() {
    for (const char* p : {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf"}) {
      std::ifstream in(p, std::ios::binary);
      if (!in) continue;
      ttf.assign(std::istreambuf_iterator<char>(in), {});
      if (stbtt_InitFont(&info, ttf.data(), stbtt_GetFontOffsetForIndex(ttf.data(), 0))) {
        ok = true;
        return;
      }
    }
    std::cerr << "ganpp: warning: DejaVuSans.ttf not found (install fonts-dejavu-core); plots will have no text\n";
  }
};

Font& font() {
  static Font f;
  return f;
}

struct Canvas {
  int w, h;
  std::vector<uint8_t> px;
  Canvas(int w_, int h_) : w(w_), h(h_), px(size_t(w_) * h_ * 3, 255) {}
  void blend(int x, int y, RGB c, double a) {
    if (x < 0 || y < 0 || x >= w || y >= h || a <= 0) return;
    a = std::min(a, 1.0);
    uint8_t* p = &px[(size_t(y) * w + x) * 3];
    for (int k = 0; k < 3; ++k) p[k] = static_cast<uint8_t>(std::lround(p[k] * (1 - a) + c[k] * a));
  }
  void line(double x0, double y0, double x1, double y1, RGB c, double width = 1.5) {
    double len = std::hypot(x1 - x0, y1 - y0);
    int steps = std::max(1, static_cast<int>(std::ceil(len * 2)));
    for (int i = 0; i <= steps; ++i) {
      double t = double(i) / steps, x = x0 + (x1 - x0) * t, y = y0 + (y1 - y0) * t;
      disc(x, y, width / 2, c, 1.0);
    }
  }
  void disc(double cx, double cy, double r, RGB c, double alpha) {
    for (int y = int(std::floor(cy - r - 1)); y <= int(std::ceil(cy + r + 1)); ++y)
      for (int x = int(std::floor(cx - r - 1)); x <= int(std::ceil(cx + r + 1)); ++x) {
        double d = std::hypot(x - cx, y - cy);
        double cover = std::clamp(r + 0.5 - d, 0.0, 1.0);
        if (cover > 0) blend(x, y, c, cover * alpha);
      }
  }
  void rect(int x0, int y0, int x1, int y1, RGB c) {
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) blend(x, y, c, 1.0);
  }
  // Draws text with its left end at x (or centred / right-aligned) and baseline at y; returns its width.
  int text(const std::string& s, double x, double y, double size, RGB c, int align = 0, bool vertical = false) {
    Font& f = font();
    if (!f.ok) return 0;
    float scale = stbtt_ScaleForPixelHeight(&f.info, static_cast<float>(size));
    int width = 0;
    for (char ch : s) {
      int adv, lsb;
      stbtt_GetCodepointHMetrics(&f.info, ch, &adv, &lsb);
      width += static_cast<int>(std::lround(adv * scale));
    }
    double pen = align == 0 ? 0 : align == 1 ? -width / 2.0 : -width;
    for (char ch : s) {
      int gw, gh, xo, yo;
      unsigned char* bm = stbtt_GetCodepointBitmap(&f.info, 0, scale, ch, &gw, &gh, &xo, &yo);
      for (int j = 0; j < gh; ++j)
        for (int i = 0; i < gw; ++i) {
          double a = bm[j * gw + i] / 255.0;
          int u = static_cast<int>(std::lround(pen)) + xo + i, v = yo + j;
          if (vertical) blend(static_cast<int>(x) + v, static_cast<int>(y) - u, c, a);
          else blend(static_cast<int>(x) + u, static_cast<int>(y) + v, c, a);
        }
      stbtt_FreeBitmap(bm, nullptr);
      int adv, lsb;
      stbtt_GetCodepointHMetrics(&f.info, ch, &adv, &lsb);
      pen += adv * scale;
    }
    return width;
  }
  Image image() const {
    Image img;
    img.width = w;
    img.height = h;
    img.channels = 3;
    img.pixels = px;
    return img;
  }
};

std::vector<double> nice_ticks(double lo, double hi, int target = 6) {
  double span = hi - lo;
  if (!(span > 0)) return {lo};
  double raw = span / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  return t;
}

std::string tick_label(double v) {
  if (v != 0 && (std::fabs(v) >= 1e5 || std::fabs(v) < 1e-3)) return fmt::format("{:.1e}", v);
  return fmt::format("{:g}", v);
}

struct Frame {
  int left = 72, right = 20, top = 36, bottom = 52;
  double x0, x1, y0, y1;
  int w, h;
  double px(double x) const { return left + (x - x0) / (x1 - x0) * (w - left - right); }
  double py(double y) const { return h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom); }
};

Frame draw_frame(Canvas& cv, const std::vector<Series>& series, const PlotOptions& opt) {
  Frame f;
  f.w = cv.w;
  f.h = cv.h;
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (auto& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, s.x[i]), xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]), ymax = std::max(ymax, s.y[i]);
    }
  if (!std::isfinite(xmin)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  if (xmax == xmin) xmin -= 0.5, xmax += 0.5;
  if (ymax == ymin) ymin -= 0.5, ymax += 0.5;
  double ypad = (ymax - ymin) * 0.05;
  f.x0 = opt.xrange ? opt.xrange->first : xmin;
  f.x1 = opt.xrange ? opt.xrange->second : xmax;
  f.y0 = opt.yrange ? opt.yrange->first : ymin - ypad;
  f.y1 = opt.yrange ? opt.yrange->second : ymax + ypad;
  if (opt.equal_aspect) {
    double sx = (f.x1 - f.x0) / (f.w - f.left - f.right), sy = (f.y1 - f.y0) / (f.h - f.top - f.bottom);
    double s = std::max(sx, sy), cx = (f.x0 + f.x1) / 2, cy = (f.y0 + f.y1) / 2;
    f.x0 = cx - s * (f.w - f.left - f.right) / 2, f.x1 = cx + s * (f.w - f.left - f.right) / 2;
    f.y0 = cy - s * (f.h - f.top - f.bottom) / 2, f.y1 = cy + s * (f.h - f.top - f.bottom) / 2;
  }
  const RGB grid{225, 225, 225}, axis{60, 60, 60};
  for (double t : nice_ticks(f.x0, f.x1)) {
    cv.line(f.px(t), f.top, f.px(t), f.h - f.bottom, grid, 1.0);
    cv.text(tick_label(t), f.px(t), f.h - f.bottom + 16, 12, axis, 1);
  }
  for (double t : nice_ticks(f.y0, f.y1)) {
    cv.line(f.left, f.py(t), f.w - f.right, f.py(t), grid, 1.0);
    cv.text(tick_label(t), f.left - 6, f.py(t) + 4, 12, axis, 2);
  }
  cv.line(f.left, f.h - f.bottom, f.w - f.right, f.h - f.bottom, axis, 1.0);
  cv.line(f.left, f.top, f.left, f.h - f.bottom, axis, 1.0);
  cv.text(opt.title, f.w / 2.0, 22, 15, {0, 0, 0}, 1);
  cv.text(opt.xlabel, (f.left + f.w - f.right) / 2.0, f.h - 12, 13, axis, 1);
  if (!opt.ylabel.empty()) cv.text(opt.ylabel, 16, (f.top + f.h - f.bottom) / 2.0, 13, axis, 1, true);
  return f;
}

void draw_legend(Canvas& cv, const Frame& f, const std::vector<Series>& series) {
  int y = f.top + 14;
  for (size_t i = 0; i < series.size(); ++i) {
    if (series[i].name.empty()) continue;
    RGB c = kPalette[i % 10];
    cv.rect(f.w - f.right - 150, y - 6, f.w - f.right - 136, y - 2, c);
    cv.text(series[i].name, f.w - f.right - 130, y, 12, {30, 30, 30});
    y += 16;
  }
}

}  // namespace

Image line_plot(const std::vector<Series>& series, const PlotOptions& opt) {
  Canvas cv(opt.width, opt.height);
  Frame f = draw_frame(cv, series, opt);
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    for (size_t i = 1; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i - 1]) || !std::isfinite(s.y[i])) continue;
      double ya = std::clamp(s.y[i - 1], f.y0, f.y1), yb = std::clamp(s.y[i], f.y0, f.y1);
      cv.line(f.px(s.x[i - 1]), f.py(ya), f.px(s.x[i]), f.py(yb), kPalette[k % 10]);
    }
  }
  draw_legend(cv, f, series);
  return cv.image();
}

Image scatter_plot(const std::vector<Series>& series, const PlotOptions& opt) {
  Canvas cv(opt.width, opt.height);
  Frame f = draw_frame(cv, series, opt);
  for (size_t k = 0; k < series.size(); ++k)
    for (size_t i = 0; i < series[k].x.size() && i < series[k].y.size(); ++i) {
      double x = f.px(series[k].x[i]), y = f.py(series[k].y[i]);
      if (x < f.left || x > f.w - f.right || y < f.top || y > f.h - f.bottom) continue;
      cv.disc(x, y, 1.6, kPalette[k % 10], 0.6);
    }
  draw_legend(cv, f, series);
  return cv.image();
}

}  // namespace ganpp
