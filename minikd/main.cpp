#include <iostream>
int main(int argc, char** argv) { std::cout << "minikd\n"; return 0; }
