// RTNeural's own outputs for tests/rtneural.rs: loads an RTNeural JSON model with RTNeural's
// reader (json_parser::parseJson, into its run-time Model<double>), resets it, and streams the
// inputs of a CSV file (one time step per line, comma-separated) through it one step at a
// time, printing each step's outputs, comma-separated, with 17 significant digits.
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
// tests/reference/rtneural_export.py runs both steps itself.

#include <RTNeural.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    if(argc != 3)
    {
        std::cerr << "usage: rtneural_driver MODEL.json INPUTS.csv\n";
        return 2;
    }
    std::ifstream json(argv[1]);
    auto model = RTNeural::json_parser::parseJson<double>(json, false);
    if(!model)
    {
        std::cerr << "RTNeural could not read " << argv[1] << "\n";
        return 1;
    }
    model->reset();

    std::ifstream inputs(argv[2]);
    std::string line;
    while(std::getline(inputs, line))
    {
        std::vector<double> x;
        std::stringstream fields(line);
        std::string field;
        while(std::getline(fields, field, ','))
            x.push_back(std::stod(field));
        if(static_cast<int>(x.size()) != model->getInSize())
        {
            std::cerr << "expected " << model->getInSize() << " inputs per line\n";
            return 1;
        }
        model->forward(x.data());
        const double* y = model->getOutputs();
        for(int i = 0; i < model->getOutSize(); ++i)
            std::printf(i == 0 ? "%.17g" : ",%.17g", y[i]);
        std::printf("\n");
    }
    return 0;
}
