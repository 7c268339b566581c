// Package thermal turns the frames of a thermal array (MLX90640, AMG8833)
// into one measurement per person, as a spot thermometer gives one per
// reading.
//
// A Frame is one image in °C with the sensor's ambient temperature; the
// array drivers fill one in place. A Tracker follows the warm blobs against
// the background and measures each person as a robust
// high percentile of the hottest region of the face, with the dwell,
// stability and distance rules of the pipeline's stream segmenter: a face
// too small in pixels (too far) asks for a retake, never gives a number; two
// people close enough to measure at once are both asked to retake, never
// given one number for both.
//
// The background is the frame's median, unless a face close to the sensor
// makes the median (more than half an AMG8833's pixels within about 0.2 m):
// then it is the background learnt from earlier frames, or before any the
// sensor's ambient temperature.
//
// Each measurement keeps the frame it came from (Measurement.Image). A
// Source given a Thumbs (KeepThumbs) hands that frame over for the gate
// screen's thumbnail, filed under the reading's capture time; the frame
// never enters a drivers.Reading, so it is never stored or uploaded.
//
// # Caveats
//
// The synthetic scenes of the tests model a 32×24 sensor with a 55° lens
// (and an 8×8 one with 60°) and Gaussian noise; they show the rules work,
// not that a real sensor's number is right. Noise biases the number up: the
// plateau is the highest window and the number a high percentile. With
// 0.1 °C of pixel noise a person read 0.04–0.18 °C warm, with 0.2 °C (an
// MLX90640 at 4–8 Hz) −0.26 to +0.30 °C, mean +0.15 (120 passages each).
// The per-device offset (mode skin, gatescreen calibrate against a
// blackbody) absorbs the mean; the spread stays. Two people standing so close that their blobs touch are
// one blob, and the hotter face makes the number: a lane should admit one
// person at a time. A hot object in view (a radiator, a sunlit wall) is a
// blob like a person; keep it out of the lens's view.
package thermal
