// Image decoding (stb_image: PNG, JPEG, BMP, GIF, TGA, PNM) as image folders use it, in all three channel modes.
#include "fuzz_common.h"
#include "targets.h"

GANPP_FUZZ_TARGET(ganpp::fuzz::image(bytes))
