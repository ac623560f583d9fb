// RTNeural's own outputs for tests/rtneural.rs and tests/rtneural_conv1d.rs: loads a model
// with RTNeural's own readers, resets it, and streams the inputs of a CSV file (one time step
// per line, comma-separated) through it one step at a time, printing each step's outputs,
// comma-separated, with 17 significant digits.
//
//   rtneural_driver MODEL.json INPUTS.csv
//       an RTNeural JSON model, read by json_parser::parseJson into its run-time Model<double>;
//   rtneural_driver --torch-conv1d IN OUT KERNEL DILATION STATE_DICT.json INPUTS.csv
//       a PyTorch nn.Conv1d's state_dict as JSON (`weight`, `bias`), read by
//       torch_helpers::loadConv1D into a run-time Conv1D<double>, as RTNeural's own tests read
//       its conv1d_torch.json.
//
// Build against the vendored RTNeural (../shared/peers/rtneural/vendor) and the system's Eigen
// (apt-get install -y libeigen3-dev), from the project root:
//
//   g++ -std=c++17 -O2 -I../shared/peers/rtneural/vendor -I../shared/peers/rtneural/vendor/RTNeural \
//       -I/usr/include/eigen3 -DRTNEURAL_USE_EIGEN=1 -DRTNEURAL_DEFAULT_ALIGNMENT=16 \
//       tests/reference/rtneural_driver.cpp -o /tmp/rtneural_driver
//   /tmp/rtneural_driver tests/fixtures/rtneural_model.json tests/fixtures/rtneural_inputs.csv \
//       > tests/fixtures/rtneural_outputs.csv
//
// tests/reference/rtneural_export.py and tests/reference/rtneural_conv_fixtures.py run both
// steps themselves.

#include <RTNeural.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

// Streams the CSV file at `path` through `layer` (reset first), printing each step's outputs.
template <typename LayerType>
int stream(LayerType& layer, const char* path)
{
    layer.reset();
    std::ifstream inputs(path);
    std::string line;
    std::vector<double> y(static_cast<size_t>(layer.out_size));
    while(std::getline(inputs, line))
    {
        std::vector<double> x;
        std::stringstream fields(line);
        std::string field;
        while(std::getline(fields, field, ','))
            x.push_back(std::stod(field));
        if(static_cast<int>(x.size()) != layer.in_size)
        {
            std::cerr << "expected " << layer.in_size << " inputs per line\n";
            return 1;
        }
        layer.forward(x.data(), y.data());
        for(size_t i = 0; i < y.size(); ++i)
            std::printf(i == 0 ? "%.17g" : ",%.17g", y[i]);
        std::printf("\n");
    }
    return 0;
}

// A run-time Model as a layer for `stream`: its outputs are copied out of getOutputs().
struct ModelLayer
{
    RTNeural::Model<double>& model;
    int in_size;
    int out_size;
    void reset() { model.reset(); }
    void forward(const double* x, double* y)
    {
        model.forward(x);
        std::copy(model.getOutputs(), model.getOutputs() + out_size, y);
    }
};

int main(int argc, char** argv)
{
    if(argc == 8 && std::string(argv[1]) == "--torch-conv1d")
    {
        RTNeural::Conv1D<double> conv(std::stoi(argv[2]), std::stoi(argv[3]), std::stoi(argv[4]),
            std::stoi(argv[5]));
        std::ifstream json(argv[6]);
        nlohmann::json state_dict;
        json >> state_dict;
        RTNeural::torch_helpers::loadConv1D<double>(state_dict, "", conv);
        return stream(conv, argv[7]);
    }
    if(argc != 3)
    {
        std::cerr << "usage: rtneural_driver MODEL.json INPUTS.csv\n"
                     "       rtneural_driver --torch-conv1d IN OUT KERNEL DILATION STATE_DICT.json INPUTS.csv\n";
        return 2;
    }
    std::ifstream json(argv[1]);
    auto model = RTNeural::json_parser::parseJson<double>(json, false);
    if(!model)
    {
        std::cerr << "RTNeural could not read " << argv[1] << "\n";
        return 1;
    }
    ModelLayer layer { *model, model->getInSize(), model->getOutSize() };
    return stream(layer, argv[2]);
}
