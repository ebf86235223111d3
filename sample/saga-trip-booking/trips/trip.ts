export type ReservationKind = 'flight' | 'hotel' | 'car';

export interface TripRequest {
  id: string;
  traveller: string;
  from: string;
  to: string;
  /** ISO date of the outbound flight and the hotel check-in. */
  departure: string;
  nights: number;
}

export interface Reservation {
  kind: ReservationKind;
  confirmation: string;
  summary: string;
}

export interface Itinerary {
  tripId: string;
  flight: Reservation;
  hotel: Reservation;
  car: Reservation;
}

/** The error Result of a trip that could not be booked: what failed, and what was cancelled because of it. */
export interface TripNotBooked {
  tripId: string;
  failedStep: string;
  reason: string;
  cancelled: string[];
}
