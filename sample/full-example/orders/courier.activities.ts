import { Activity } from 'nestjs-stent';

/** Books the courier that ships an order (a stand-in that prints the booking). */
@Activity()
export class CourierActivities {
  async book(orderId: string): Promise<string> {
    const tracking = `trk_${orderId}`;
    console.log(`courier: booked ${tracking}`);
    return tracking;
  }
}
