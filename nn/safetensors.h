/* Placeholder: the safetensors reader/writer is being written. */
#ifndef TG_SAFETENSORS_H
#define TG_SAFETENSORS_H
#endif
