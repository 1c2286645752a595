#include <gtest/gtest.h>

#include <cmath>
#include <array>
#include <fstream>
#include <set>

#include "ganpp/core/error.h"
#include "ganpp/io/image.h"
#include "ganpp/io/table.h"
#include "test_util.h"

using namespace ganpp;
using test::q;
using test::run_cli;
namespace fs = std::filesystem;

TEST(Table, CsvColumnsWithMissingValues) {
  auto t = parse_csv_table("batch, ms\n16,10.5\n32,\n64,nan\n\n128,1e2\n", "s.csv");
  EXPECT_EQ(t.names, (std::vector<std::string>{"batch", "ms"}));
  ASSERT_EQ(t.rows, 4u);
  EXPECT_EQ(t.col("batch"), (std::vector<double>{16, 32, 64, 128}));
  EXPECT_DOUBLE_EQ(t.col("ms")[0], 10.5);
  EXPECT_TRUE(std::isnan(t.col("ms")[1]));
  EXPECT_TRUE(std::isnan(t.col("ms")[2]));
  EXPECT_DOUBLE_EQ(t.col("ms")[3], 100.0);
}

TEST(Table, JsonLinesFillLateColumnsAndSkipEvents) {
  auto t = parse_jsonl_table(
      "{\"step\": 10, \"loss_d\": 1.5, \"tag\": \"x\"}\n"
      "{\"event\": \"rollback\", \"reason\": \"nan\"}\n"
      "{\"step\": 20, \"loss_d\": 1.25, \"fid\": 40.0}\n",
      "m.jsonl");
  ASSERT_EQ(t.rows, 2u);
  EXPECT_EQ(t.names, (std::vector<std::string>{"loss_d", "step", "fid"}));  // nlohmann orders keys per object
  EXPECT_EQ(t.col("step"), (std::vector<double>{10, 20}));
  EXPECT_TRUE(std::isnan(t.col("fid")[0]));
  EXPECT_DOUBLE_EQ(t.col("fid")[1], 40.0);
  EXPECT_EQ(t.cols.count("tag"), 0u);
}

TEST(Table, BadInputsNameTheFileLineAndColumn) {
  EXPECT_EQ(test::error_message([] { parse_csv_table("a,b\n1,2,3\n", "s.csv"); }),
            "s.csv:2: 3 values, expected 2 (one per column of the header)");
  auto labelled = parse_csv_table("kind,b\nx,1\ny,2\n", "s.csv");
  EXPECT_EQ(labelled.names, (std::vector<std::string>{"b"}));
  EXPECT_EQ(test::error_message([&] { labelled.col("kind"); }),
            "column 'kind' holds text, not numbers; the numeric columns are: b");
  EXPECT_EQ(test::error_message([] { parse_csv_table("a,a\n", "s.csv"); }), "s.csv:1: column 'a' appears twice");
  EXPECT_EQ(test::error_message([] { parse_csv_table("", "s.csv"); }),
            "s.csv: empty file (expected a header line of column names)");
  EXPECT_NE(test::error_message([] { parse_jsonl_table("{\"a\": 1}\n{oops\n", "m.jsonl"); }).find("m.jsonl:2: not valid JSON"),
            std::string::npos);
  auto t = parse_csv_table("a,b\n1,2\n", "s.csv");
  EXPECT_EQ(test::error_message([&] { t.col("c"); }), "no column 'c'; the numeric columns are: a, b");
}

TEST(Table, PlotCommandDrawsColumnsAndGroups) {
  auto d = test::temp_dir("plot");
  std::ofstream(d / "sweep.csv") << "kind,width,batch,ms\nx,32,16,5\nx,32,64,12\nx,64,16,9\nx,64,64,30\n";
  std::string out;
  ASSERT_EQ(run_cli("plot " + q(d / "sweep.csv") + " --x batch --y ms --group width --out " + q(d / "p.png"), &out), 0) << out;
  Image img = decode_image(d / "p.png");
  EXPECT_EQ(img.width, 800);
  EXPECT_EQ(img.height, 480);
  // Two groups -> two series colours besides the white background and the black axes/text.
  std::set<std::array<uint8_t, 3>> colours;
  for (size_t i = 0; i + 2 < img.pixels.size(); i += img.channels)
    colours.insert({img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]});
  EXPECT_GT(colours.size(), 3u);
  EXPECT_EQ(run_cli("plot " + q(d / "sweep.csv") + " --x batch --y speed --out " + q(d / "q.png"), &out), 1);
  EXPECT_NE(out.find("no column 'speed'; the numeric columns are: width, batch, ms"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(d / "q.png"));
}
